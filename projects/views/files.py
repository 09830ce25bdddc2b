"""Serve item images to project members only, with a safe content type."""
import mimetypes

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404

from core.access import get_item_for_user

SAFE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"}


@login_required
def item_image(request, item_id):
    item, _ = get_item_for_user(request.user, item_id)
    if not item.image:
        raise Http404("This item has no image")
    content_type = mimetypes.guess_type(item.image.name)[0] or "application/octet-stream"
    try:
        fh = item.image.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The image file is missing") from exc
    safe = content_type in SAFE_IMAGE_TYPES
    response = FileResponse(fh, content_type=content_type if safe else "application/octet-stream",
                            as_attachment=not safe)
    response["X-Content-Type-Options"] = "nosniff"
    # img-src and style-src: a browser opening the URL on its own shows the image (and centres it with an
    # inline style) under this policy too; no script can run in the sandbox either way.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    response["Cache-Control"] = "private, max-age=86400"
    return response
