"""Checking consent signatures: any drawn wallet, message and signature is answered True or False, never an error."""

import base58
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey

from agent_sessions.domain.consent import wallet_kind
from agent_sessions.infra.consent_signatures import signature_is_the_wallets

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
HEX = "0123456789abcdef"
wallets = st.one_of(
    st.text(BASE58, min_size=32, max_size=44),
    st.text(HEX, min_size=40, max_size=40).map(lambda digits: "0x" + digits),
    st.text(max_size=50),
)
signatures = st.one_of(
    st.text(BASE58, min_size=1, max_size=100),
    st.text(HEX, min_size=0, max_size=140).map(lambda digits: "0x" + digits),
    st.text(max_size=100),
)


@given(wallet=wallets, message=st.text(max_size=300), signature=signatures)
def test_any_input_is_a_plain_answer(wallet: str, message: str, signature: str) -> None:
    assert signature_is_the_wallets(wallet, message, signature) in (True, False)


@given(message=st.text(max_size=500))
def test_the_owners_own_signatures_are_accepted_and_a_changed_message_is_not(message: str) -> None:
    solana = SigningKey.generate()
    address = base58.b58encode(bytes(solana.verify_key)).decode()
    assert wallet_kind(address) == "solana"
    signed = base58.b58encode(solana.sign(message.encode()).signature).decode()
    assert signature_is_the_wallets(address, message, signed)
    assert not signature_is_the_wallets(address, message + ".", signed)
    account = Account.from_key(b"\x01" * 32)
    eth_signed = account.sign_message(encode_defunct(text=message)).signature.hex()
    eth_signed = eth_signed if eth_signed.startswith("0x") else "0x" + eth_signed
    assert signature_is_the_wallets(account.address, message, eth_signed)
    assert signature_is_the_wallets(account.address.lower(), message, eth_signed)
    assert not signature_is_the_wallets(account.address, message + ".", eth_signed)
