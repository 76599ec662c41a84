"""How contact details are shown when we must not reveal them in full."""


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    return "***-***-" + "".join(digits[-4:]) if len(digits) >= 4 else "***"


def mask_contact(value: str) -> str:
    return mask_email(value) if "@" in value else mask_phone(value)
