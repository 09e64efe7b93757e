"""Payment intents, charges, refunds, disputes, balance transactions and payouts."""

from __future__ import annotations

from typing import Any

FEE_PERCENT = 2.9
FEE_FIXED = 30
DISPUTE_FEE = 1500
STATEMENT_DESCRIPTOR = "REMITFAKE"


def processing_fee(amount: int) -> int:
    """Stripe's standard card fee, so balance transactions have a believable ``fee`` and ``net``."""
    return round(amount * FEE_PERCENT / 100) + FEE_FIXED if amount > 0 else 0


def empty_list(url: str) -> dict[str, Any]:
    return {"object": "list", "data": [], "has_more": False, "total_count": 0, "url": url}


def payment_method_details(pm: dict[str, Any]) -> dict[str, Any]:
    if pm.get("type") == "card":
        card = pm["card"]
        return {
            "card": {
                "brand": card["brand"],
                "checks": card["checks"],
                "country": card["country"],
                "exp_month": card["exp_month"],
                "exp_year": card["exp_year"],
                "fingerprint": card["fingerprint"],
                "funding": card["funding"],
                "installments": None,
                "last4": card["last4"],
                "mandate": None,
                "network": card["brand"],
                "three_d_secure": None,
                "wallet": None,
            },
            "type": "card",
        }
    kind = str(pm.get("type"))
    return {kind: dict(pm.get(kind) or {}), "type": kind}


def outcome(succeeded: bool, decline_code: str | None = None) -> dict[str, Any]:
    if succeeded:
        return {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 12,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    return {
        "network_status": "declined_by_network",
        "reason": decline_code,
        "risk_level": "normal",
        "risk_score": 12,
        "seller_message": "The bank did not return any further details with this decline.",
        "type": "issuer_declined",
    }


def charge(
    charge_id: str,
    *,
    created: int,
    amount: int,
    currency: str,
    customer: str | None,
    description: str | None,
    invoice: str | None,
    payment_intent: str,
    pm: dict[str, Any],
    status: str,
    captured: bool,
    balance_transaction: str | None,
    failure_code: str | None = None,
    failure_message: str | None = None,
    decline_code: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    paid = status == "succeeded"
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if paid and captured else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": balance_transaction,
        "billing_details": pm.get("billing_details"),
        "calculated_statement_descriptor": STATEMENT_DESCRIPTOR,
        "captured": paid and captured,
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "destination": None,
        "dispute": None,
        "disputed": False,
        "failure_code": failure_code,
        "failure_message": failure_message,
        "fraud_details": {},
        "invoice": invoice,
        "livemode": False,
        "metadata": metadata or {},
        "on_behalf_of": None,
        "order": None,
        "outcome": outcome(status != "failed", decline_code),
        "paid": paid,
        "payment_intent": payment_intent,
        "payment_method": pm["id"],
        "payment_method_details": payment_method_details(pm),
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": f"https://fake.remit.invalid/receipts/{charge_id}" if paid else None,
        "refunded": False,
        "refunds": empty_list(f"/v1/charges/{charge_id}/refunds"),
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


def payment_intent(
    pi_id: str,
    *,
    created: int,
    amount: int,
    currency: str,
    customer: str | None,
    description: str | None,
    invoice: str | None,
    payment_method: str | None,
    payment_method_types: list[str],
    capture_method: str,
    status: str,
    metadata: dict[str, str] | None = None,
    setup_future_usage: str | None = None,
    shipping: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": capture_method,
        "charges": empty_list(f"/v1/charges?payment_intent={pi_id}"),
        "client_secret": f"{pi_id}_secret_fake",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "invoice": invoice,
        "last_payment_error": None,
        "livemode": False,
        "metadata": metadata or {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": payment_method_types,
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": setup_future_usage,
        "shipping": shipping,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


def refund(
    refund_id: str,
    *,
    created: int,
    amount: int,
    currency: str,
    charge: str,
    payment_intent: str | None,
    reason: str | None,
    balance_transaction: str,
    metadata: dict[str, str],
) -> dict[str, Any]:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": balance_transaction,
        "charge": charge,
        "created": created,
        "currency": currency,
        "metadata": metadata,
        "payment_intent": payment_intent,
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


EVIDENCE_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)


def dispute(
    dispute_id: str,
    *,
    created: int,
    charge_: dict[str, Any],
    reason: str,
    status: str,
    balance_transactions: list[dict[str, Any]],
    due_by: int,
) -> dict[str, Any]:
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": charge_["amount"],
        "balance_transaction": balance_transactions[0]["id"] if balance_transactions else None,
        "balance_transactions": balance_transactions,
        "charge": charge_["id"],
        "created": created,
        "currency": charge_["currency"],
        "evidence": dict.fromkeys(EVIDENCE_FIELDS),
        "evidence_details": {"due_by": due_by, "has_evidence": False, "past_due": False, "submission_count": 0},
        "is_charge_refundable": status.startswith("warning"),
        "livemode": False,
        "metadata": {},
        "payment_intent": charge_.get("payment_intent"),
        "reason": reason,
        "status": status,
    }


def balance_transaction(
    txn_id: str,
    *,
    created: int,
    amount: int,
    fee: int,
    currency: str,
    source: str,
    type_: str,
    description: str | None,
    reporting_category: str,
) -> dict[str, Any]:
    fee_details = (
        [
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        ]
        if fee
        else []
    )
    return {
        "id": txn_id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created + 2 * 86400,
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": reporting_category,
        "source": source,
        "status": "pending",
        "type": type_,
    }


def payout(
    payout_id: str,
    *,
    created: int,
    amount: int,
    currency: str,
    description: str | None,
    balance_transaction: str,
    metadata: dict[str, str],
) -> dict[str, Any]:
    return {
        "id": payout_id,
        "object": "payout",
        "amount": amount,
        "arrival_date": created - created % 86400 + 86400,
        "automatic": False,
        "balance_transaction": balance_transaction,
        "created": created,
        "currency": currency,
        "description": description,
        "destination": "ba_fake000001",
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": metadata,
        "method": "standard",
        "original_payout": None,
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": "pending",
        "type": "bank_account",
    }


__all__ = [
    "DISPUTE_FEE",
    "EVIDENCE_FIELDS",
    "balance_transaction",
    "charge",
    "dispute",
    "empty_list",
    "outcome",
    "payment_intent",
    "payment_method_details",
    "payout",
    "processing_fee",
    "refund",
]
