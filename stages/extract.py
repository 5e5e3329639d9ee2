"""Stage ``extract``: one dataset, found, verified and written as arrays.

    python -m stages.extract --dataset=mnist

The dataset is ``conf/datasets/<dataset>.yaml`` (``aestudy.data.datasets`` says how each kind of source is read
and checked). Writes ``data/prepared/<dataset>.npz`` (uint8 images (N, H, W) and int64 labels, train and test)
and ``metrics/data/<dataset>.json`` (counts, shape, SHA-256 of the content, for each file the kind of source
it came from: data/raw, the mirror, the entry's own source, or npz; the title and class names the report uses,
and the stage's wall seconds). IDX files are looked for in
``data/raw/<dataset>/``, then under ``$AE_DATA_MIRROR`` (an absolute folder or a URL), then at the entry's URL
or folder; ``digits`` is scikit-learn's bundled set and needs no files.

Every file is checked against the SHA-256 its entry declares, so the output is fixed by the entry alone,
wherever the bytes came from: the stage depends on the entry, not on the folders it searches (DVC would hash
whatever they hold, a link to ``/dev/zero`` included, before any check of ours could run).
"""

from __future__ import annotations

from aestudy.core.io import write_json, write_npz
from aestudy.data.datasets import class_names, dataset_facts
from aestudy.data.loaders import load_dataset, mirror_from_environment
from study import conf, layout
from study.cli import run_stage, stage_args, wall_seconds


def main() -> None:
    """Run the stage as DVC does (see the module): parse the flags, read, compute, write."""
    args = stage_args("stages.extract", __doc__, ("raw", "prepared", "facts"), names=("dataset",))
    spec = conf.dataset_spec(args.dataset)
    data = load_dataset(spec, args.raw, mirror_from_environment())
    write_npz(layout.prepared(args.prepared, data.name), train_images=data.train.images,
              train_labels=data.train.labels, test_images=data.test.images, test_labels=data.test.labels)
    facts = dataset_facts(data)
    # What the report names the dataset and its classes by, so that it reads this stage's output, not conf/.
    facts |= {"title": spec.display_name,
              "class_names": class_names(spec, len(facts["train"]["label_counts"])),
              "wall_seconds": wall_seconds()}
    write_json(layout.facts(args.facts, data.name), facts)
    print(f"{data.name}: {facts['train']['count']} train, {facts['test']['count']} test, "
          f"images {'x'.join(map(str, facts['image_shape']))}")


if __name__ == "__main__":
    run_stage(main)
