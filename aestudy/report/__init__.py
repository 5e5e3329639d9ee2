"""What a reader sees: the figures, the report's text, the headline metrics, and the published numbers they sit
beside."""
