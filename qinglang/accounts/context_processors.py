from .scope import actor_for


def actor(request):
    user = getattr(request, "user", None)
    return {"actor": actor_for(user) if user is not None else None}
