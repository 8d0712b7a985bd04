"""The provider's endpoints, one module per group; ``app.py`` routes requests to them.

Each handler is ``handle_x(ctx, request, tenant) -> Response`` (``tenant`` is the path's
tenant segment, already checked, or ``None`` where the path has none) and raises
``OAuthError`` for an Entra-style error answer.
"""
