"""The pipeline: composes engines and scoring rules into rewards (shared by the HTTP routes and the CLI)."""
