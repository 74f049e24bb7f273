"""HTTP edge: the FastAPI app, routers, request/response schemas, middleware, error mapping."""
