"""Machines (locations) in the admin: the list with each one's last sale, switching them on and off,
never deleting one that has sales, and its kiosk keys (generate, shown once; revoke). Its activation
code and out-of-service buttons are backoffice.machines; the fleet board is backoffice.fleet."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path

from backoffice.fleet import FleetBoardAdminMixin
from backoffice.machines import MachineActionsAdminMixin, out_of_service_text
from backoffice.pages import ActionPageAdminMixin
from backoffice.tools import ActiveSwitch, ActiveSwitchAdminMixin, KeepIfSoldAdminMixin
from locations.models import DEFAULT_CLOSES_AT, DEFAULT_OPENS_AT, KioskKey, Location
from locations.services import (
    MAX_ACTIVE_KEYS,
    KioskKeyLimitReached,
    issue_kiosk_key,
    revoke_kiosk_key,
    set_locations_active,
)
from payments.models import Sale


class LocationForm(forms.ModelForm):
    """Opening hours left empty are the default ones (10:00-22:00 WIB)."""

    class Meta:
        model = Location
        fields = ["machine_code", "name", "address", "city", "is_active", "needs_printer", "opens_at", "closes_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("opens_at", "closes_at"):
            if name in self.fields:
                self.fields[name].required = False

    def clean_opens_at(self):
        return self.cleaned_data.get("opens_at") or DEFAULT_OPENS_AT

    def clean_closes_at(self):
        return self.cleaned_data.get("closes_at") or DEFAULT_CLOSES_AT


class GenerateKioskKeyForm(forms.Form):
    label = forms.CharField(
        max_length=100,
        help_text="Which machine or install this key is for, so you recognise it later, e.g. 'PB-001 new tablet'.",
    )


@admin.register(Location)
class LocationAdmin(
    FleetBoardAdminMixin,
    MachineActionsAdminMixin,
    ActionPageAdminMixin,
    ActiveSwitchAdminMixin,
    KeepIfSoldAdminMixin,
    admin.ModelAdmin,
):
    form = LocationForm
    list_display = ["machine_code", "name", "city", "address", "is_active", "last_sale_at", "created_at"]
    list_filter = ["is_active", "city"]
    search_fields = ["machine_code", "name", "address", "city"]
    readonly_fields = ["out_of_service", "last_sale_at", "created_at", "updated_at"]
    fields = [
        "machine_code",
        "name",
        "address",
        "city",
        "is_active",
        "out_of_service",
        "needs_printer",
        "opens_at",
        "closes_at",
        "last_sale_at",
        "created_at",
        "updated_at",
    ]
    change_list_template = "admin/backoffice/change_list.html"
    change_form_template = "admin/locations/location/change_form.html"
    active_switch = ActiveSwitch(
        activate="Activate: these machines may sell again",
        deactivate="Deactivate: these machines stop selling (their sales are kept)",
        activated="{count} machine(s) can start sales again.",
        deactivated="{count} machine(s) can no longer start sales; their sales stay in the reports.",
    )

    # --- Kiosk keys: generate (shown once), revoke -----------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/kiosk-keys/new/",
                view(self.generate_kiosk_key_view),
                name="locations_location_generate_kiosk_key",
            ),
            path(
                "<path:object_id>/kiosk-keys/<int:key_id>/revoke/",
                view(self.revoke_kiosk_key_view),
                name="locations_location_revoke_kiosk_key",
            ),
            *self.get_fleet_urls(),
            *self.get_machine_urls(),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The location's keys, listed under its form (read-only: only their prefixes, never the keys,
        # which are not stored), each with a Revoke link; new ones come from "Generate kiosk key".
        extra = {
            "can_generate_kiosk_key": request.user.has_perm("locations.add_kioskkey"),
            "can_revoke_kiosk_key": request.user.has_perm("locations.change_kioskkey"),
            "can_switch_service": request.user.has_perm("locations.change_location"),
            "kiosk_keys": None,
        }
        if request.user.has_perm("locations.view_kioskkey") and str(object_id).isdigit():
            extra["kiosk_keys"] = KioskKey.objects.filter(location_id=object_id).select_related("created_by")
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def generate_kiosk_key_view(self, request, object_id):
        location = self.get_object(request, unquote(object_id))
        if location is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not request.user.has_perm("locations.add_kioskkey"):
            raise PermissionDenied
        form = GenerateKioskKeyForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                key, plaintext = issue_kiosk_key(location=location, label=form.cleaned_data["label"], user=request.user)
            except KioskKeyLimitReached as refusal:
                form.add_error(None, str(refusal))
            else:
                # The key is shown on this page once and never again: not a message that would sit
                # in the session, and not a page any cache may keep.
                context = {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "original": location,
                    "change_url": self.change_url(location),
                    "title": "Kiosk key generated",
                    "key": key,
                    "plaintext": plaintext,
                }
                response = TemplateResponse(request, "admin/locations/location/kiosk_key_created.html", context)
                response["Cache-Control"] = "no-store"
                return response
        active = location.kiosk_keys.filter(revoked_at__isnull=True).count()
        return self.action_page(
            request,
            original=location,
            cancel_url=self.change_url(location),
            title="Generate kiosk key",
            form=form,
            intro=f"A new key for {location.machine_code}. It is shown once, on the next page: enter it on the kiosk "
            f"right away. A location may have {MAX_ACTIVE_KEYS} active keys, so a kiosk can move to a new key before "
            f"the old one is revoked (it has {active} now).",
            submit_label="Generate key",
        )

    def revoke_kiosk_key_view(self, request, object_id, key_id: int):
        location = self.get_object(request, unquote(object_id))
        if location is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not request.user.has_perm("locations.change_kioskkey"):
            raise PermissionDenied
        key = location.kiosk_keys.filter(pk=key_id).first()
        change_url = self.change_url(location)
        if key is None or key.revoked_at is not None:
            self.message_user(request, "That kiosk key does not exist or is revoked already.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            revoke_kiosk_key(key=key)
            self.message_user(
                request,
                f"Kiosk key {key.prefix}… ({key.label}) is revoked: a kiosk still using it now gets 401.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        return self.action_page(
            request,
            original=location,
            cancel_url=change_url,
            form=None,
            title="Revoke kiosk key",
            intro=f"Revoke {key.prefix}… ({key.label})? From now on every request with it is refused (401). "
            "Make sure the kiosk has its new key first.",
            submit_label="Revoke key",
        )

    def get_queryset(self, request):
        # The newest sale per machine, from the index (location, -created_at): one query for the list.
        latest = Sale.objects.filter(location=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
        return super().get_queryset(request).annotate(last_sale=Subquery(latest))

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["help_texts"] = {"address": "Street address of the venue, for technicians and invoices."}
        return super().get_form(request, obj, change, **kwargs)

    def sales_counts(self, objs) -> dict:
        rows = Sale.objects.filter(location__in=objs).values("location").annotate(count=Count("pk"))
        return {row["location"]: row["count"] for row in rows}

    @admin.display(description="out of service")
    def out_of_service(self, location: Location) -> str:
        # Staff's switch; a kiosk reporting itself out of service shows on the fleet board.
        return out_of_service_text(location) or "No (in service)"

    @admin.display(description="last sale started", ordering="last_sale")
    def last_sale_at(self, location: Location):
        # A machine whose last sale is long ago may be switched off or offline.
        return getattr(location, "last_sale", None) or "never"

    def set_active(self, queryset, *, active: bool) -> int:
        return set_locations_active(locations=queryset, active=active)

    def changelist_view(self, request, extra_context=None):
        empty = "No machines yet. Add one with “Add location”, using the code printed on the machine."
        return super().changelist_view(request, {"empty_message": empty, **(extra_context or {})})
