"""The item page: an item's full history (label events and comments), for reviewers and managers."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.access import get_item_for_user
from core.models import Role
from labeling.adjudication import mark_gold
from quorum.lib.errors import QuorumError
from quorum.lib.params import int_or_none
from review.decisions import add_comment
from review.models import Flag
from review.views.queue import request_cache
from review.workspace import item_detail


@login_required
def item_page(request, item_id):
    item, membership = get_item_for_user(request.user, item_id, Role.REVIEWER)
    flags = list(Flag.objects.filter(item=item).select_related("resolved_by").order_by("-created_at"))
    return render(request, "review/item.html", {
        "project": item.project, "flags": flags, "is_manager": membership.allows(Role.MANAGER),
        **item_detail(item, cache=request_cache(request)),
    })


@login_required
@require_POST
def item_comment(request, item_id):
    item, _ = get_item_for_user(request.user, item_id, Role.REVIEWER)
    try:
        add_comment(item=item, author=request.user, text=request.POST.get("text", ""))
    except QuorumError as exc:
        messages.error(request, exc.message)
    return redirect("review:item", item.pk)


@login_required
@require_POST
def item_gold(request, item_id):
    """A manager gives the item a known answer; the queue then serves it as a gold item."""
    item, _ = get_item_for_user(request.user, item_id, Role.MANAGER)
    label = item.project.labels.filter(pk=int_or_none(request.POST.get("label"))).first()
    try:
        if label is None:
            raise QuorumError("Choose the gold answer from this project's labels.")
        mark_gold(item=item, label=label, actor=request.user)
    except QuorumError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, f"Item {item.pk} is now a gold item with answer {label.name}.")
    return redirect("review:item", item.pk)
