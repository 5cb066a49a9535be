"""A machine's own buttons in the admin, beside its kiosk keys: "Create activation code" (6 digits for
the kiosk installer, shown once), "Take out of service" (with a note) and "Back in service". Each
calls its service; taking out and putting back are also written in the machine's history (who, when,
the note)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from backoffice.tools import jakarta_time
from locations.activation import create_activation_code
from locations.services import put_back_in_service, take_out_of_service


class OutOfServiceForm(forms.Form):
    note = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why, for the other staff: e.g. 'paper jam, technician Tuesday' or 'mall closed for renovation'.",
    )


class ConfirmForm(forms.Form):
    pass


class MachineActionsAdminMixin:
    """For the locations' ModelAdmin (with ActionPageAdminMixin)."""

    def get_machine_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/activation-code/",
                view(self.activation_code_view),
                name="locations_location_activation_code",
            ),
            path(
                "<path:object_id>/out-of-service/",
                view(self.out_of_service_view),
                name="locations_location_out_of_service",
            ),
            path(
                "<path:object_id>/back-in-service/",
                view(self.back_in_service_view),
                name="locations_location_back_in_service",
            ),
        ]

    def activation_code_view(self, request, object_id):
        location = self.get_object(request, unquote(object_id))
        if location is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not request.user.has_perm("locations.add_kioskkey"):
            raise PermissionDenied
        if request.method == "POST":
            row, code = create_activation_code(location=location, user=request.user)
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": location,
                "change_url": self.change_url(location),
                "title": "Activation code",
                "code": code,
                "expires_at": jakarta_time(row.expires_at),
            }
            # Shown on this page once: not a message kept in the session, not a page a cache keeps.
            response = TemplateResponse(request, "admin/locations/location/activation_code.html", context)
            response["Cache-Control"] = "no-store"
            return response
        return self.action_page(
            request,
            original=location,
            cancel_url=self.change_url(location),
            title="Create activation code",
            form=ConfirmForm(),
            intro=f"A 6-digit code for installing a kiosk at {location.machine_code}: the installer types it on the "
            f"kiosk, which then gets its own kiosk key. The code works once, for {settings.ACTIVATION_CODE_MINUTES} "
            "minutes, and is shown only on the "
            "next page. A newer code replaces an older one that was not used.",
            submit_label="Create code",
        )

    def out_of_service_view(self, request, object_id):
        def run(location, data):
            if take_out_of_service(location=location, note=data["note"], user=request.user):
                self.log_change(request, location, f"Taken out of service: {data['note'].strip()}")
                self.message_user(
                    request, f"{location.machine_code} is out of service: it starts no sales.", messages.SUCCESS
                )
            else:
                self.message_user(request, f"{location.machine_code} was out of service already.", messages.WARNING)

        return self.object_action_view(
            request,
            object_id,
            allowed=request.user.has_perm("locations.change_location"),
            title="Take out of service",
            intro="The machine stops starting sales at once (its kiosk is told so by its next heartbeat, and a sale "
            "it tries is refused); sales already paid go on as usual. Put it back with “Back in service”.",
            form=OutOfServiceForm,
            submit="Take out of service",
            run=run,
        )

    def back_in_service_view(self, request, object_id):
        def run(location, data):
            if put_back_in_service(location=location):
                self.log_change(request, location, "Back in service")
                self.message_user(request, f"{location.machine_code} may sell again.", messages.SUCCESS)
            else:
                self.message_user(request, f"{location.machine_code} was not taken out of service.", messages.WARNING)

        return self.object_action_view(
            request,
            object_id,
            allowed=request.user.has_perm("locations.change_location"),
            title="Back in service",
            intro="The machine may start sales again. If its kiosk itself reports it out of service (or out of "
            "paper, when it needs a printer), it stays so until its heartbeat says otherwise.",
            form=ConfirmForm,
            submit="Back in service",
            run=run,
        )


def out_of_service_text(location) -> str:
    """Who took the machine out of service, when, and why (the location page and the board)."""
    if location.out_of_service_since is None:
        return ""
    who = getattr(location.out_of_service_by, "username", None) or "staff"
    return f"{jakarta_time(location.out_of_service_since)} by {who}: {location.out_of_service_note}"
