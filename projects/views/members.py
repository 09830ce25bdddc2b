"""The members page (managers): add an existing user, or create an invitation link; and accepting one."""
from django import forms
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from core.access import get_project_for_user
from core.invitations import invitation_accept, invitation_create, invitation_for_token
from core.members import member_add
from core.models import Membership, Role
from quorum.lib.errors import QuorumError


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150, label="User name")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANNOTATOR)


class InviteForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANNOTATOR)
    note = forms.CharField(max_length=200, required=False, label="For", help_text="e.g. a name; only managers see it.")


class AcceptForm(forms.Form):
    username = forms.CharField(max_length=150, label="Choose a user name")
    password = forms.CharField(widget=forms.PasswordInput, label="Choose a password")


@login_required
def members(request, project_id):
    project, _ = get_project_for_user(request.user, project_id, Role.MANAGER)
    add_form = AddMemberForm(request.POST if request.POST.get("action") == "add" else None)
    invite_form = InviteForm(request.POST if request.POST.get("action") == "invite" else None)
    link = ""
    if request.method == "POST":
        try:
            if add_form.is_bound and add_form.is_valid():
                member_add(project=project, **add_form.cleaned_data)
                return redirect("projects:members", project.pk)
            if invite_form.is_bound and invite_form.is_valid():
                _, token = invitation_create(project=project, created_by=request.user, **invite_form.cleaned_data)
                link = request.build_absolute_uri(reverse("projects:invitation", args=[token]))
        except QuorumError as exc:
            (add_form if add_form.is_bound else invite_form).add_error(None, exc.message)
    context = {
        "project": project, "add_form": add_form, "invite_form": invite_form, "link": link,
        "memberships": Membership.objects.filter(project=project).select_related("user").order_by("user__username"),
        "invitations": project.invitations.select_related("used_by")[:20], "now": timezone.now(),
    }
    return render(request, "projects/members.html", context)


def invitation(request, token):
    invite = invitation_for_token(token)
    if invite is None:
        raise Http404("This invitation link is not valid any more; ask your project manager for a new one.")
    form = AcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(token=token, **form.cleaned_data)
        except QuorumError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("projects:project", invite.project_id)
    return render(request, "registration/invitation.html", {"form": form, "invite": invite})
