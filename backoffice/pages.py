"""One page for every action staff confirm or fill in, on one object or on the rows ticked in a list:
what the action does, what it is about, its form and a button (admin/backoffice/action_page.html)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from backoffice.forms import NoteForm

ACTION_PAGE = "admin/backoffice/action_page.html"


@dataclass(frozen=True)
class Table:
    """What an action is about, shown above its form. Cells are text (escaped) or format_html's."""

    headings: Sequence[str]
    rows: Sequence[Sequence]


class ActionPageAdminMixin:
    """For a ModelAdmin: the action page, and the two ways it is used."""

    def action_page(
        self,
        request,
        *,
        title: str,
        intro: str,
        form: forms.Form | None,
        submit_label: str,
        cancel_url: str,
        original=None,
        crumb: str | None = None,
        table: Table | None = None,
        hidden: Sequence[tuple[str, object]] = (),
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": original,
            "title": title,
            "crumb": crumb,
            "intro": intro,
            "table": table,
            "hidden": hidden,
            "form": form,
            "submit_label": submit_label,
            "cancel_url": cancel_url,
        }
        return TemplateResponse(request, ACTION_PAGE, context)

    def change_url(self, obj) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])

    def object_action_view(
        self,
        request,
        object_id,
        *,
        allowed: bool,
        title: str,
        intro: str,
        form: type[forms.Form],
        submit: str,
        run: Callable[[object, dict], object],
        initial: Callable[[object], dict] | None = None,
    ):
        """An action on one object: shown, then run when its form is sent valid; back to the object."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not allowed:
            raise PermissionDenied
        change_url = self.change_url(obj)
        if request.method == "POST":
            bound = form(request.POST)
            if bound.is_valid():
                run(obj, bound.cleaned_data)
                return HttpResponseRedirect(change_url)
        else:
            bound = form(initial=initial(obj) if initial else None)
        return self.action_page(
            request,
            original=obj,
            title=title,
            intro=intro,
            form=bound,
            submit_label=submit,
            cancel_url=change_url,
        )

    def bulk_action_page(
        self, request, objects: Sequence, *, action: str, title: str, intro: str, table: Table, form, submit_label: str
    ) -> TemplateResponse:
        """The second step of a list action that needs a form: the ticked rows travel as hidden fields,
        and "apply" tells the action its form was sent."""
        hidden = [*((helpers.ACTION_CHECKBOX_NAME, obj.pk) for obj in objects), ("action", action), ("apply", "1")]
        return self.action_page(
            request,
            title=title,
            intro=intro,
            table=table,
            hidden=hidden,
            form=form,
            submit_label=submit_label,
            cancel_url=reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
        )

    def bulk_note_action(
        self,
        request,
        rows: Sequence,
        *,
        nothing_selected: str,
        resolve: Callable[..., bool],
        done: str,
        action: str,
        title: str,
        intro: str,
        table: Table,
        submit_label: str,
    ) -> TemplateResponse | None:
        """A list action that resolves the ticked rows with one note from staff: warns when none of
        them applies, asks for the note on its page, then runs `resolve(row, note=...)` for each and
        says how many it did (`done` with `{}` for the number)."""
        if not rows:
            self.message_user(request, nothing_selected, messages.WARNING)
            return None
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            count = sum(resolve(row, note=form.cleaned_data["note"]) for row in rows)
            self.message_user(request, done.format(count), messages.SUCCESS)
            return None
        return self.bulk_action_page(
            request, rows, action=action, title=title, intro=intro, table=table, form=form, submit_label=submit_label
        )
