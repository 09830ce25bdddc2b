"""Auto-accept settings (managers): turn it on with a target precision and a spot-check rate."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from core.access import get_project_for_user
from core.models import Role
from learning import autoaccept
from quorum.lib.errors import QuorumError

LOW, HIGH = (100 * v for v in autoaccept.TARGET_RANGE)


class AutoAcceptForm(forms.Form):
    enabled = forms.BooleanField(
        required=False, label="Let the model label items it is sure of",
        help_text="Off by default. After each retrain, open items nobody has labelled get the model's label "
                  "(source “model”) when its calibrated confidence reaches the threshold for your target.")
    target = forms.FloatField(
        label="Target precision (%)", widget=forms.NumberInput(attrs={"step": "0.1"}),
        help_text=f"Between {LOW:g} and {HIGH:g}. Quorum picks the lowest confidence whose precision on human "
                  "labels the model did not train on meets it; a higher target labels fewer items, more safely.")
    spot_check = forms.FloatField(
        label="Spot checks (%)", widget=forms.NumberInput(attrs={"step": "0.5"}),
        help_text="Share of auto-accepted items still sent to an annotator, blind. If they agree with the model "
                  f"less than the target (after {autoaccept.MIN_CHECKS} checks, with 95% confidence), "
                  "auto-accept stops by itself and says why.")

    def clean_target(self):
        value = self.cleaned_data["target"]
        if not LOW <= value <= HIGH:
            raise forms.ValidationError(f"Enter a target between {LOW:g}% and {HIGH:g}% (you entered {value:g}%).")
        return value

    def clean_spot_check(self):
        value = self.cleaned_data["spot_check"]
        if not 0 <= value <= 100:
            raise forms.ValidationError(f"Enter a share between 0% and 100% (you entered {value:g}%).")
        return value


@login_required
def auto_accept_settings(request, project_id):
    project, _ = get_project_for_user(request.user, project_id, Role.MANAGER)
    initial = {"enabled": project.auto_accept, "target": round(100 * project.auto_accept_target, 2),
               "spot_check": round(100 * project.auto_accept_spot_check_rate, 2)}
    form = AutoAcceptForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            autoaccept.configure(project=project, enabled=data["enabled"], target=data["target"] / 100,
                                 spot_check_rate=data["spot_check"] / 100)
        except QuorumError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Auto-accept is on: it runs with the latest model now and after each retrain."
                             if data["enabled"] else "Auto-accept settings saved; it is off.")
            return redirect("learning:auto_accept", project.pk)
    return render(request, "learning/auto_accept.html", {"project": project, "form": form,
                                                         "aa": autoaccept.status(project), "on_settings_page": True})
