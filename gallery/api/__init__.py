"""The kiosk-facing photo API and the maintenance cleanup: views, the serializers that make their
answers, and the rest of their OpenAPI contract (schema.py)."""
