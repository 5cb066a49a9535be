"""Reading the API's answers as a kiosk does."""


def error_of(response) -> tuple[int, str, dict]:
    """An error answer's status, message and details, once its body is checked to be the
    envelope: exactly `success` (false), `message` and `details`, in that order."""
    body = response.json()
    assert list(body) == ["success", "message", "details"]
    assert body["success"] is False
    return response.status_code, body["message"], body["details"]
