"""Where the images come from: the datasets' specs, the external sources read with bounds, the prepared arrays
every stage after ``extract`` reads, and the few-label study's labelled samples."""
