"""Guards in front of the HTTP API: the per-caller rate limit (:mod:`.ratelimit`) and the origin guard's
decision (:mod:`.origin`). The HTTP layer applies them; the decisions here are pure, the storage explicit."""
