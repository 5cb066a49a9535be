"""Vouchers in the admin: one code typed by staff, or a batch of single-use codes for flyers, and
the codes as CSV to print. A voucher with sales is never deleted (its sales keep it)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode

from backoffice.exports import csv_response
from backoffice.pages import ActionPageAdminMixin
from backoffice.tools import jakarta_time
from core import errors
from locations.models import Location
from pricing import vouchers
from pricing.models import Price, Voucher, VoucherKind, normalize_code

CSV_HEADER = ["code", "discount", "valid from (Jakarta)", "valid until (Jakarta)", "batch", "uses", "maximum uses"]


def printed(code: str) -> str:
    """A code as printed on a flyer: groups of four, joined by dashes (kiosks ignore the dashes)."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


class BatchForm(forms.Form):
    count = forms.IntegerField(
        label="How many codes", min_value=1, max_value=vouchers.BATCH_MAX, help_text="Each can be used once."
    )
    batch = forms.CharField(max_length=100, help_text="A name to find them again, e.g. “Flyers Grand Indonesia May”.")
    prefix = forms.CharField(
        max_length=8, required=False, help_text="Optional start of every code, e.g. GRAND (A-Z and 2-9, no O or I)."
    )
    description = forms.CharField(max_length=255, required=False)
    kind = forms.ChoiceField(label="Discount", choices=VoucherKind.choices)
    value = forms.DecimalField(
        required=False, help_text="Percent (1-100), or whole rupiah; leave empty for a free session."
    )
    valid_from = forms.SplitDateTimeField(initial=timezone.now, widget=AdminSplitDateTime)
    valid_until = forms.SplitDateTimeField(required=False, widget=AdminSplitDateTime, help_text="Empty: no end.")
    prices = forms.ModelMultipleChoiceField(
        Price.objects.all(), required=False, help_text="None chosen: every package."
    )
    locations = forms.ModelMultipleChoiceField(
        Location.objects.all(), required=False, help_text="None chosen: every machine."
    )
    one_per_email = forms.BooleanField(label="One use per customer email", required=False)

    def clean(self):
        data = super().clean()
        template = self.template(data)
        try:
            template.clean()
        except forms.ValidationError as error:
            for field, problems in error.message_dict.items():
                self.add_error(field if field in self.fields else None, problems)
        data["template"] = template
        return data

    @staticmethod
    def template(data: dict) -> Voucher:
        return Voucher(
            code="",
            kind=data.get("kind") or VoucherKind.FREE,
            value=data.get("value"),
            description=data.get("description", ""),
            valid_from=data.get("valid_from") or timezone.now(),
            valid_until=data.get("valid_until"),
            one_per_email=data.get("one_per_email", False),
        )


@admin.register(Voucher)
class VoucherAdmin(ActionPageAdminMixin, admin.ModelAdmin):
    list_display = ["code_display", "description", "discount_label", "validity", "uses_display", "batch", "is_active"]
    list_filter = ["is_active", "kind", "batch"]
    search_fields = ["code", "batch", "description"]
    search_help_text = "A code (dashes and spaces ignored), a batch or a description."
    filter_horizontal = ["prices", "locations"]
    readonly_fields = ["uses"]
    actions = ["download_codes"]
    change_list_template = "admin/pricing/voucher/change_list.html"
    # Flyer batches make thousands of codes: 50 rows a page render in half the time of Django's 100.
    list_per_page = 50
    fields = [
        "code",
        "description",
        "kind",
        "value",
        "valid_from",
        "valid_until",
        "prices",
        "locations",
        "max_uses",
        "one_per_email",
        "is_active",
        "uses",
        "batch",
    ]

    def get_readonly_fields(self, request, obj=None):
        # A code in customers' hands never changes; nor does what its sales were sold with.
        return ["uses"] if obj is None else ["code", "uses", "batch"]

    def get_search_results(self, request, queryset, search_term):
        found, duplicates = super().get_search_results(request, queryset, search_term)
        code = normalize_code(search_term)
        return (found | queryset.filter(code=code)) if code else found, duplicates

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("batch/", view(self.batch_view), name="pricing_voucher_batch"),
            path("export/", view(self.export_view), name="pricing_voucher_export"),
            *super().get_urls(),
        ]

    # --- Columns ----------------------------------------------------------------------------
    @admin.display(description="code", ordering="code")
    def code_display(self, voucher: Voucher) -> str:
        return printed(voucher.code)

    @admin.display(description="discount")
    def discount_label(self, voucher: Voucher) -> str:
        return voucher.discount_label

    @admin.display(description="valid (WIB)", ordering="valid_from")
    def validity(self, voucher: Voucher) -> str:
        until = jakarta_time(voucher.valid_until) if voucher.valid_until else "no end"
        return f"{jakarta_time(voucher.valid_from)} – {until}"

    @admin.display(description="uses", ordering="uses")
    def uses_display(self, voucher: Voucher) -> str:
        return f"{voucher.uses} of {'unlimited' if voucher.max_uses is None else voucher.max_uses}"

    # --- Codes as CSV ---------------------------------------------------------------------------
    @admin.action(description="Download the codes as CSV (to print)")
    def download_codes(self, request, queryset):
        return self._codes_csv(queryset.order_by("code"), "photobox-vouchers.csv")

    def export_view(self, request):
        """All the codes of one batch (?batch=...), linked from the message after making it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = request.GET.get("batch", "")
        return self._codes_csv(Voucher.objects.filter(batch=batch).order_by("code"), "photobox-vouchers.csv")

    @staticmethod
    def _codes_csv(queryset, filename: str):
        rows = (
            [
                printed(voucher.code),
                voucher.discount_label,
                jakarta_time(voucher.valid_from),
                jakarta_time(voucher.valid_until) if voucher.valid_until else "",
                voucher.batch,
                voucher.uses,
                "" if voucher.max_uses is None else voucher.max_uses,
            ]
            for voucher in queryset.iterator()
        )
        return csv_response(filename, CSV_HEADER, rows)

    # --- A batch of flyer codes -----------------------------------------------------------------
    def batch_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BatchForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                made = vouchers.create_batch(
                    count=data["count"],
                    batch=data["batch"],
                    prefix=data["prefix"],
                    template=data["template"],
                    prices=list(data["prices"]),
                    locations=list(data["locations"]),
                )
            except errors.DomainError as error:
                form.add_error(None, error.message)
            else:
                export = f"{reverse('admin:pricing_voucher_export')}?{urlencode({'batch': data['batch']})}"
                self.message_user(
                    request,
                    format_html(
                        '{} single-use codes made in batch “{}”. <a href="{}">Download them as CSV</a> to print.',
                        len(made),
                        data["batch"],
                        export,
                    ),
                    messages.SUCCESS,
                )
                changelist = reverse("admin:pricing_voucher_changelist")
                return HttpResponseRedirect(f"{changelist}?{urlencode({'batch': data['batch']})}")
        return self.action_page(
            request,
            title="Make a batch of flyer codes",
            intro="Makes that many vouchers with random codes (no look-alike characters), each usable once, all "
            "with the same discount, dates and limits. You can download them as CSV afterwards.",
            form=form,
            submit_label="Make the codes",
            cancel_url=reverse("admin:pricing_voucher_changelist"),
        )

    def changelist_view(self, request, extra_context=None):
        empty = "No vouchers yet. Add one with “Add voucher”, or make a batch of flyer codes."
        extra = {"empty_message": empty, "batch_url": reverse("admin:pricing_voucher_batch")}
        return super().changelist_view(request, {**extra, **(extra_context or {})})
