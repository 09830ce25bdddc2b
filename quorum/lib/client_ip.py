"""The client's address: X-Forwarded-For is believed only when the request comes from a trusted proxy."""
from ipaddress import ip_address

from django.conf import settings


def _is_trusted(address: str) -> bool:
    try:
        ip = ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in settings.QUORUM_TRUSTED_PROXIES)


def client_ip(request) -> str:
    """REMOTE_ADDR, unless it is a trusted proxy (``QUORUM_TRUSTED_PROXIES``): then the right-most address in
    X-Forwarded-For that is not itself a trusted proxy, i.e. the one our outermost proxy saw connect.

    Addresses left of it were written by the client and are never believed, so a client cannot pick the
    address its failed logins count against.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted(remote):
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop):
            try:
                return str(ip_address(hop))
            except ValueError:  # garbage where the proxy should have written an address: do not guess
                return remote
    return remote
