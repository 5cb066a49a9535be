"""Response encryption as a DRF renderer: a view opts in, and its answers leave sealed.

A view with `renderer_classes = [EncryptedJSONRenderer]` names the methods whose answers a kiosk
reads encrypted in `encrypted_methods` (the poll and the photo list: GET). With ENCRYPTION_ENABLED
their successful answers are the cipher's body (core/encryption.py) around the JSON the view would
have sent; errors, other methods, and everything with encryption off leave as plain JSON. Kiosks
already decrypt these bytes: the plaintext is rendered compactly whatever the Accept header asks.
"""

from rest_framework.renderers import JSONRenderer

from core.encryption import response_cipher


def seal(data, *, path: str):
    """`data` inside the cipher's body, with ENCRYPTION_ENABLED; else `data` as it is. The
    plaintext is rendered as the earlier service encrypted it: compact, no indent from Accept."""
    cipher = response_cipher()
    return data if cipher is None else cipher.seal(JSONRenderer().render(data), path=path)


class EncryptedJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        context = renderer_context or {}
        if self._seals(context):
            data = seal(data, path=context["request"].path)
        return super().render(data, accepted_media_type, renderer_context)

    @staticmethod
    def _seals(context: dict) -> bool:
        response, request, view = context.get("response"), context.get("request"), context.get("view")
        if response is None or request is None:
            return False
        # HEAD answers as GET would (Django serves it with the GET handler): the same length.
        method = "GET" if request.method == "HEAD" else request.method
        return 200 <= response.status_code < 300 and method in getattr(view, "encrypted_methods", ())
