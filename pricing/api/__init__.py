"""The kiosk's menu: GET /api/v1/kiosk/packages (docs/kiosk-contract.md)."""
