"""What the menu endpoint reads and answers; drf-spectacular documents the same classes
(pricing/api/schema.py adds the errors)."""

from rest_framework import serializers

from core.openapi import RupiahField, SuccessSerializer


class PackagesQuerySerializer(serializers.Serializer):
    location_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)

    def __init__(self, *args, location_required: bool, **kwargs):
        # Without a kiosk key nothing but the query names the location.
        super().__init__(*args, **kwargs)
        self.fields["location_id"].required = location_required


# One price as the kiosk shows it, from a Price annotated by pricing.selectors.menu. Key order is
# part of the contract.
class PackageSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The `price_id` to send when creating a sale.")
    price = RupiahField(source="amount", help_text="Rupiah, a JSON number: `40000`.")
    description = serializers.CharField(help_text="What the customer gets, as staff wrote it (may be empty).")
    quota = serializers.IntegerField(allow_null=True, help_text="How many sales the price may have; null: unlimited.")
    remaining = serializers.IntegerField(
        source="quota_remaining",
        allow_null=True,
        help_text="Sales left before the quota is used up (paid sales and unexpired unpaid ones count); null: "
        "unlimited. 0: sold out for now (show it as such; an unpaid sale that expires frees one).",
    )


class PackagesSerializer(SuccessSerializer):
    MESSAGE = "Packages retrieved successfully"
    message = serializers.CharField(help_text=f"`{MESSAGE}`")
    data = PackageSerializer(many=True, help_text="Cheapest first; empty when this kiosk has nothing to sell.")
