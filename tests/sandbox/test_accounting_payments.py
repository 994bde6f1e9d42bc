"""/contact_payments: a CUSTOMER_RECEIPT allocated to invoices moves them UNPAID → PART_PAID → PAID."""

import pytest

from sandbox.models import ContactPayment
from tests.sandbox.accounting_world import errors_by_source


@pytest.fixture
def customer(make_customer):
    return make_customer("Acme", email="accounts@acme.example.com")


@pytest.fixture
def invoice(customer, make_invoice):
    """One line 1 x 100.00 at 20%: total 120.00."""
    return make_invoice(customer)


@pytest.fixture
def pay(sage, customer, bank_account):
    def post(*allocations: tuple[str, str], total: str | None = None, **overrides):
        body = {
            "transaction_type_id": "CUSTOMER_RECEIPT",
            "contact_id": customer.id,
            "bank_account_id": bank_account.id,
            "payment_method_id": "CREDIT_DEBIT",
            "date": "2025-04-10",
            "total_amount": total or str(sum(float(amount) for _, amount in allocations)),
            "allocated_artefacts": [
                {"artefact_id": artefact, "amount": amount} for artefact, amount in allocations
            ],
        }
        body.update(overrides)
        return sage("post", "/contact_payments", json={"contact_payment": body})

    return post


def invoice_state(sage, invoice) -> tuple[str, str]:
    body = sage("get", f"/sales_invoices/{invoice.id}").json()
    return body["status"]["id"], body["outstanding_amount"]


# --- allocation effects ------------------------------------------------------------------------------


def test_receipt_answers_201_with_its_allocations(pay, invoice, customer, bank_account):
    response = pay((invoice.id, "120.00"))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["transaction_type"] == {
        "id": "CUSTOMER_RECEIPT",
        "displayed_as": "Customer Receipt",
        "$path": "/transaction_types/CUSTOMER_RECEIPT",
    }
    assert body["payment_method"]["id"] == "CREDIT_DEBIT"
    assert body["contact"]["id"] == customer.id
    assert body["bank_account"]["id"] == bank_account.id
    assert body["total_amount"] == "120.00"
    assert [(item["artefact"]["id"], item["amount"]) for item in body["allocated_artefacts"]] == [
        (invoice.id, "120.00")
    ]
    assert body["allocated_artefacts"][0]["artefact"]["$path"] == f"/sales_invoices/{invoice.id}"


def test_partial_then_full_payment_moves_unpaid_to_part_paid_to_paid(sage, pay, invoice):
    assert invoice_state(sage, invoice) == ("UNPAID", "120.00")

    pay((invoice.id, "50.00"))
    assert invoice_state(sage, invoice) == ("PART_PAID", "70.00")

    pay((invoice.id, 70))
    assert invoice_state(sage, invoice) == ("PAID", "0.00")


def test_paid_invoice_reports_what_was_paid_and_when(sage, pay, invoice):
    pay((invoice.id, "120.00"), date="2025-04-12")

    body = sage("get", f"/sales_invoices/{invoice.id}?show_payments_allocations=true").json()

    assert body["total_paid"] == "120.00"
    assert body["last_paid"] == "2025-04-12"
    assert body["editable"] is False
    assert [allocation["amount"] for allocation in body["payments_allocations"]] == ["120.00"]


def test_one_payment_can_pay_several_invoices(sage, pay, customer, make_invoice, invoice):
    second = make_invoice(customer, ("2", "10.00", None))

    pay((invoice.id, "120.00"), (second.id, "5.00"))

    assert invoice_state(sage, invoice) == ("PAID", "0.00")
    assert invoice_state(sage, second) == ("PART_PAID", "15.00")


def test_payment_lowers_the_contact_balance(sage, pay, invoice, customer):
    pay((invoice.id, "20.00"))

    assert sage("get", f"/contacts/{customer.id}").json()["balance"] == "100.00"


def test_unallocated_money_is_a_payment_on_account(sage, pay, invoice, customer):
    body = pay((invoice.id, "100.00"), total="150.00").json()

    assert body["payment_on_account"]["total_amount"] == "50.00"
    assert sage("get", f"/contacts/{customer.id}").json()["balance"] == "-30.00"


def test_receipt_raises_the_bank_balance(sage, pay, invoice, bank_account):
    pay((invoice.id, "120.00"))

    assert sage("get", f"/bank_accounts/{bank_account.id}").json()["balance"] == "120.00"


def test_deleting_a_payment_gives_the_amount_back_to_the_invoice(sage, pay, invoice):
    payment = pay((invoice.id, "120.00")).json()

    response = sage("delete", f"/contact_payments/{payment['id']}")

    assert response.status_code == 204
    assert invoice_state(sage, invoice) == ("UNPAID", "120.00")
    assert sage("get", f"/contact_payments/{payment['id']}").status_code == 404
    deleted = sage("get", "/contact_payments?deleted_since=2000-01-01T00:00:00Z").json()["$items"]
    assert [item["id"] for item in deleted] == [payment["id"]]


# --- validation --------------------------------------------------------------------------------------


def test_allocation_above_the_outstanding_amount_is_refused(sage, pay, invoice):
    response = pay((invoice.id, "120.01"))

    assert errors_by_source(response).keys() == {"allocated_artefacts[0].amount"}
    assert invoice_state(sage, invoice) == ("UNPAID", "120.00")
    assert not ContactPayment.objects.exists()


def test_two_allocations_that_together_exceed_the_outstanding_amount_are_refused(pay, invoice):
    response = pay((invoice.id, "100.00"), (invoice.id, "30.00"))

    assert errors_by_source(response).keys() == {"allocated_artefacts[1].amount"}


def test_allocation_to_an_unknown_invoice_is_refused(pay, invoice):
    response = pay(("0" * 32, "10.00"))

    assert errors_by_source(response).keys() == {"allocated_artefacts[0].artefact_id"}


def test_allocation_to_another_contacts_invoice_is_refused(sage, pay, make_customer, make_invoice):
    someone_else = make_customer("Someone else")
    their_invoice = make_invoice(someone_else)

    response = pay((their_invoice.id, "10.00"))

    assert errors_by_source(response).keys() == {"allocated_artefacts[0].artefact_id"}
    assert invoice_state(sage, their_invoice) == ("UNPAID", "120.00")


def test_allocations_above_the_payment_total_are_refused(pay, invoice):
    response = pay((invoice.id, "100.00"), total="90.00")

    assert errors_by_source(response).keys() == {"total_amount"}


def test_allocation_to_a_void_invoice_is_refused(sage, pay, invoice):
    sage("delete", f"/sales_invoices/{invoice.id}?void_reason=oops")

    assert errors_by_source(pay((invoice.id, "10.00"))).keys() == {"allocated_artefacts[0].artefact_id"}


def test_allocation_to_a_draft_invoice_is_refused(pay, customer, make_invoice):
    draft = make_invoice(customer, status_id="DRAFT")

    assert errors_by_source(pay((draft.id, "10.00"))).keys() == {"allocated_artefacts[0].artefact_id"}


@pytest.mark.parametrize(
    "field", ["transaction_type_id", "contact_id", "bank_account_id", "date", "total_amount"]
)
def test_payment_without_a_required_field_is_a_422_naming_it(pay, invoice, field):
    response = pay((invoice.id, "10.00"), **{field: None})

    assert field in errors_by_source(response)
    assert not ContactPayment.objects.exists()


def test_unknown_transaction_type_payment_method_and_bank_account_are_refused(pay, invoice):
    response = pay(
        (invoice.id, "10.00"),
        transaction_type_id="GIFT",
        payment_method_id="SEASHELLS",
        bank_account_id="b" * 32,
    )

    assert errors_by_source(response).keys() >= {
        "transaction_type_id",
        "payment_method_id",
        "bank_account_id",
    }


def test_customer_receipt_from_a_supplier_is_refused(pay, make_customer):
    supplier = make_customer("Supplies Co", contact_type_ids=["VENDOR"])

    response = pay(total="10.00", contact_id=supplier.id, allocated_artefacts=[])

    assert errors_by_source(response)["contact_id"]["$message"] == "The contact is not a customer"
    assert not ContactPayment.objects.exists()


def test_vendor_payment_to_a_customer_is_refused_and_to_a_supplier_accepted(pay, customer, make_customer):
    supplier = make_customer("Supplies Co", contact_type_ids=["VENDOR"])

    to_customer = pay(total="10.00", transaction_type_id="VENDOR_PAYMENT", allocated_artefacts=[])
    to_supplier = pay(
        total="10.00", transaction_type_id="VENDOR_PAYMENT", contact_id=supplier.id, allocated_artefacts=[]
    )

    assert "contact_id" in errors_by_source(to_customer)
    assert to_supplier.status_code == 201, to_supplier.content


def test_zero_or_negative_total_is_refused(pay, invoice):
    assert "total_amount" in errors_by_source(pay(total="0", allocated_artefacts=[]))
    assert "total_amount" in errors_by_source(pay(total="-5", allocated_artefacts=[]))


def test_payment_body_must_be_wrapped(sage, invoice, customer, bank_account):
    body = {
        "transaction_type_id": "CUSTOMER_RECEIPT",
        "contact_id": customer.id,
        "bank_account_id": bank_account.id,
        "date": "2025-04-10",
        "total_amount": "1",
    }

    assert errors_by_source(sage("post", "/contact_payments", json=body)).keys() == {"contact_payment"}


# --- list and get ------------------------------------------------------------------------------------


def test_list_filters_by_transaction_type_and_contact(
    sage, pay, invoice, customer, bank_account, make_customer
):
    receipt = pay((invoice.id, "10.00")).json()
    vendor = make_customer("Supplier", contact_type_ids=["VENDOR"])
    sage(
        "post",
        "/contact_payments",
        json={
            "contact_payment": {
                "transaction_type_id": "VENDOR_PAYMENT",
                "contact_id": vendor.id,
                "bank_account_id": bank_account.id,
                "date": "2025-04-10",
                "total_amount": "40",
            }
        },
    )

    receipts = sage("get", "/contact_payments?transaction_type_id=CUSTOMER_RECEIPT").json()["$items"]
    for_customer = sage("get", f"/contact_payments?contact_id={customer.id}").json()["$items"]

    assert [item["id"] for item in receipts] == [receipt["id"]]
    assert [item["id"] for item in for_customer] == [receipt["id"]]
    assert sage("get", "/contact_payments").json()["$total"] == 2


def test_get_answers_the_same_payment_as_the_create(sage, pay, invoice):
    created = pay((invoice.id, "10.00")).json()

    assert sage("get", f"/contact_payments/{created['id']}").json() == created


def test_a_deleted_payment_is_listed_by_deleted_since_and_gone_from_the_list(sage, pay, invoice):
    payment = pay((invoice.id, "50.00")).json()
    assert sage("delete", payment["$path"]).status_code == 204

    live = sage("get", "/contact_payments").json()["$items"]
    deleted = sage("get", "/contact_payments?deleted_since=2000-01-01T00:00:00Z").json()["$items"]

    assert payment["id"] not in {item["id"] for item in live}
    assert [item["id"] for item in deleted] == [payment["id"]]
    assert sage("get", payment["$path"]).status_code == 404


# --- update (PUT) ------------------------------------------------------------------------------------


def test_put_changes_a_payment_and_its_effects_follow(sage, pay, invoice, bank_account):
    payment = pay((invoice.id, "120.00")).json()
    assert invoice_state(sage, invoice) == ("PAID", "0.00")

    response = sage(
        "put",
        f"/contact_payments/{payment['id']}",
        json={
            "contact_payment": {
                "reference": "Corrected",
                "total_amount": "50.00",
                "allocated_artefacts": [{"artefact_id": invoice.id, "amount": "50.00"}],
            }
        },
    )

    assert response.status_code == 200
    answer = response.json()
    assert (answer["id"], answer["reference"], answer["total_amount"]) == (
        payment["id"],
        "Corrected",
        "50.00",
    )
    assert answer["payment_method"]["id"] == "CREDIT_DEBIT"  # what was not given stays
    assert invoice_state(sage, invoice) == ("PART_PAID", "70.00")
    bank = sage("get", f"/bank_accounts/{bank_account.id}").json()
    assert bank["balance"] == "50.00"


def test_put_that_breaks_a_rule_is_refused_and_changes_nothing(sage, pay, invoice):
    payment = pay((invoice.id, "60.00")).json()

    response = sage(
        "put",
        f"/contact_payments/{payment['id']}",
        json={"contact_payment": {"allocated_artefacts": [{"artefact_id": invoice.id, "amount": "500.00"}]}},
    )

    assert "allocated_artefacts[0].amount" in errors_by_source(response)
    assert invoice_state(sage, invoice) == ("PART_PAID", "60.00")
    assert sage("get", f"/contact_payments/{payment['id']}").json()["total_amount"] == "60.00"
