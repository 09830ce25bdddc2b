"""Item-features settings (managers): which embedder makes the project's features, and its random seed."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from core.access import get_project_for_user
from core.models import Role
from learning.featurize import embedder_spec
from learning.models import LearningSettings
from ml.embedders import EmbedderError, get_embedder


class FeaturesForm(forms.Form):
    embedder = forms.CharField(
        required=False, max_length=500, label="Embedder",
        help_text="Blank: the server default. 'default', 'pixels' or 'descriptors' (images), 'tfidf' or "
                  "'tfidf+wordllama' (text), or an ONNX image encoder on the server: "
                  "onnx:/models/x.onnx?size=224&mean=0.485,0.456,0.406&std=0.229,0.224,0.225. "
                  "Takes effect at the next retrain.")
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, label="Random seed",
                              help_text="Every random choice (CV splits, queue tie-breaks, diversity, cold start, "
                                        "spot checks) takes it: the same labels and seed give the same queue.")

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind

    def clean_embedder(self):
        spec = self.cleaned_data["embedder"].strip()
        if spec:
            try:
                get_embedder(spec, self.kind)
            except EmbedderError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return spec


@login_required
def features_settings(request, project_id):
    project, _ = get_project_for_user(request.user, project_id, Role.MANAGER)
    current = LearningSettings.of(project)
    kind = "image" if project.is_image else "text"
    form = FeaturesForm(request.POST or None, kind=kind, initial={"embedder": current.embedder, "seed": current.seed})
    if request.method == "POST" and form.is_valid():
        LearningSettings.objects.filter(pk=current.pk).update(embedder=form.cleaned_data["embedder"],
                                                               seed=form.cleaned_data["seed"])
        messages.success(request, "Feature settings saved: the next retrain uses them.")
        return redirect("learning:features", project.pk)
    in_use = get_embedder(embedder_spec(project), kind) if not form.errors else None
    return render(request, "learning/features.html", {"project": project, "form": form, "in_use": in_use})
