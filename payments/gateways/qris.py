"""EMVCo merchant-presented QR payloads (the QRIS string format) for the simulator."""

import binascii


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR. The
    standard library's `crc_hqx` is that CRC from the initial value given, in C (a bit-by-bit loop
    in Python cost ~80 µs of every simulated sale)."""
    return binascii.crc_hqx(data, 0xFFFF)


def tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"EMV data object {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def with_crc(payload_without_crc: str) -> str:
    """Append data object 63: the CRC covers everything before it, including its own `6304`."""
    body = payload_without_crc + "6304"
    return body + f"{crc16_ccitt_false(body.encode('ascii')):04X}"


def dynamic_qris(*, amount: int, reference: str, merchant_name: str, merchant_city: str) -> str:
    """A dynamic QRIS string with an obviously fake acquirer and NMID, so no real banking app
    could ever pay it."""
    merchant_account = (
        tlv("00", "ID.CO.PHOTOBOX.SIMULATOR")
        + tlv("01", "9360999900000000001")
        + tlv("02", "SIMULATOR000001")
        + tlv("03", "UMI")
    )
    qris_template = tlv("00", "ID.CO.QRIS.WWW") + tlv("02", "ID0000000000000") + tlv("03", "UMI")
    payload = (
        tlv("00", "01")
        + tlv("01", "12")
        + tlv("26", merchant_account)
        + tlv("51", qris_template)
        + tlv("52", "7399")
        + tlv("53", "360")
        + tlv("54", str(amount))
        + tlv("58", "ID")
        + tlv("59", merchant_name[:25])
        + tlv("60", merchant_city[:15])
        + tlv("62", tlv("05", reference[-25:]))
    )
    return with_crc(payload)
