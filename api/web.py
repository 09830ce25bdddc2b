"""The browser page where users create, name and revoke their personal API tokens."""
from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “training notebook”.",
                           widget=forms.TextInput(attrs={"placeholder": "training notebook", "autofocus": True}))


@login_required
def tokens_page(request):
    """List the user's tokens; a POST creates one and shows it once, on this response only."""
    form = TokenForm(request.POST or None)
    plain = created = None
    if request.method == "POST" and form.is_valid():
        created, plain = ApiToken.issue(user=request.user, name=form.cleaned_data["name"].strip())
        form = TokenForm()
    tokens = ApiToken.objects.filter(user=request.user)
    return render(request, "api/tokens.html", {"form": form, "tokens": tokens, "plain": plain, "created": created},
                  status=201 if plain else 200)


@login_required
@require_POST
def token_revoke(request, token_id):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)  # someone else's token: 404
    token.revoke()
    return redirect("api_settings:tokens")
