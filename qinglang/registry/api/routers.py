"""The registry's two routers: ``router`` (mounted at /api/registry) and ``public_router``
(/api/public, no login)."""

from ninja import Router


class RegistryRouter(Router):
    """Every operation keeps the OpenAPI operation id it had when the API was one module,
    ``qinglang_registry_api_<view>``, whichever module of the package holds the view."""

    def add_api_operation(self, path, methods, view_func, *, operation_id=None, **kwargs):
        operation_id = operation_id or f"qinglang_registry_api_{view_func.__name__}"
        super().add_api_operation(path, methods, view_func, operation_id=operation_id, **kwargs)


router = RegistryRouter(tags=["registry"])
public_router = RegistryRouter(tags=["public"], auth=None)
