"""HTTP routers: thin layers that validate, submit and build responses."""
