"""The local certificate authority: a CA and server certificates for Hadron's listeners.

Layer 4 (pure core): takes values (names, times, key material) and returns PEM bytes; no file I/O.
Keys are ECDSA P-256 and signatures ECDSA-SHA256, within Mozilla's "intermediate" profile
(security.md §8.2): server certificates live at most 366 days.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["KeyPair", "create_ca", "create_server_certificate", "default_hostnames"]

CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class KeyPair:
    certificate_pem: bytes
    private_key_pem: bytes


def default_hostnames(regions: Sequence[str]) -> list[str]:
    """Names a generated server certificate covers: loopback plus the AWS hosts Hadron answers."""
    names = ["localhost", "sts.amazonaws.com", "iam.amazonaws.com"]
    for region in regions:
        names += [
            f"proton.{region}.amazonaws.com",
            f"sts.{region}.amazonaws.com",
            f"ec2.{region}.amazonaws.com",
            # VPC endpoint names (regional and zonal, security.md §7.3)
            f"*.proton.{region}.vpce.amazonaws.com",
            f"*.sts.{region}.vpce.amazonaws.com",
        ]
    return names


def _private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_ca(*, now: datetime, common_name: str = "Hadron local CA") -> KeyPair:
    """A self-signed CA certificate that may only sign end-entity certificates."""
    key = _private_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hadron"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def create_server_certificate(
    ca: KeyPair,
    *,
    hostnames: Sequence[str],
    addresses: Sequence[str] = ("127.0.0.1", "::1"),
    now: datetime,
) -> KeyPair:
    """A TLS server certificate signed by ``ca`` for ``hostnames`` and IP ``addresses``."""
    ca_cert = x509.load_pem_x509_certificate(ca.certificate_pem)
    ca_key = serialization.load_pem_private_key(ca.private_key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key must be an ECDSA key")
    key = _private_key()
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in dict.fromkeys(hostnames)]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in dict.fromkeys(addresses)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + SERVER_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))
