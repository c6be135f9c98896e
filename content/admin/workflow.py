"""The admin form of a model with a status workflow: status changes follow the model's flow."""

from django import forms

from ..models.workflow import InvalidTransition


class WorkflowForm(forms.ModelForm):
    """Status changes follow the model's workflow."""

    flow = None

    def clean_status(self):
        status = self.cleaned_data["status"]
        if self.instance.pk:
            try:
                self.flow.check(self.instance.status, status)
            except InvalidTransition as exc:
                raise forms.ValidationError(str(exc)) from None
        return status
