"""The kiosk-facing sale API: views, the serializers that read requests and make answers, and the
rest of its OpenAPI contract (schema.py, webhook_schema.py)."""
