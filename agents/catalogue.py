"""The catalogue of Sage actions offered to AI agents: one small declarative definition per tool.

Each tool says, for a model: what it does (`description`, which for a write says what it changes in Sage), what it
takes (`input_schema`, JSON Schema), and, for sageint: the Sage call it makes (`sage_call`, arguments → method,
path, query, body) and what of Sage's answer the model gets back (`keep`, a projection of Sage's fields).

Names follow Sage's own (Sage's API description in ../shared/sage-openapi/ is checked against this file by
tests/agents/test_catalogue_matches_sage.py): field names, types, maxLengths and required fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Sage record ids are 32 hex characters; fixed-code ids (CUSTOMER, GBP) are UPPER_SNAKE. Both fit here, and
# nothing else reaches a Sage path (the proxy checks paths again).
ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$", "description": "A Sage record id."}
DATE = {"type": "string", "format": "date", "description": "YYYY-MM-DD."}
AMOUNT = {
    "type": ["string", "number"],
    "pattern": r"^-?\d{1,13}(\.\d{1,2})?$",
    "description": 'A decimal amount in the business currency, e.g. "51.98" (a string keeps it exact).',
}
QUANTITY = {
    "type": ["string", "number"],
    "pattern": r"^\d{1,13}(\.\d{1,5})?$",
    "description": 'How many, e.g. "2" (default 1).',
}
PAGE = {"type": "integer", "minimum": 1, "default": 1, "description": "Page number, from 1."}
ITEMS_PER_PAGE = {
    "type": "integer",
    "minimum": 1,
    "maximum": 200,
    "default": 20,
    "description": "Items per page (default 20, at most 200; larger pages may be cut to fit the size cap).",
}
PAGING = {"page": PAGE, "items_per_page": ITEMS_PER_PAGE}


def _schema(properties: dict, required: tuple[str, ...] = ()) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class SageCall:
    method: str
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    json: dict | None = None


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_schema: dict
    # arguments (already validated) → the one Sage call
    sage_call: Callable[[dict], SageCall]
    # Sage's fields the model gets: names, or (name, nested projection) for objects and lists of objects
    keep: tuple
    # the Sage definition of the answer's records (the conformance test checks `keep` against it)
    sage_resource: str
    writes: bool = False
    # lists answer Sage's paging envelope; the output is {"items": [...], "total", "page", "has_more"}
    lists: bool = False
    # For the conformance test: the Sage definition of a create body, and of query parameters (a GET path).
    sage_body: str = ""
    sage_query_path: str = ""

    def function_spec(self) -> dict:
        """The tool in the function-calling shape (name, description, parameters)."""
        return {"name": self.name, "description": self.description, "parameters": self.input_schema}


def _query(arguments: dict, names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(name, str(arguments[name])) for name in names if arguments.get(name) not in (None, "")]


def _decimal(value: Any) -> str:
    """Amounts leave as decimal strings, exactly as given (a number goes through str() first, never float maths)."""
    return str(Decimal(str(value)))


def _drop_empty(values: dict) -> dict:
    return {name: value for name, value in values.items() if value not in (None, "", [], {})}


def _list_tool(
    *, name: str, description: str, path: str, filters: dict, keep: tuple, sage_resource: str, sort: str = ""
) -> Tool:
    """A read tool over one of Sage's collections: `filters` (JSON Schema properties) go to Sage as they are named."""
    # Ask Sage only for what the model will be given: smaller answers, one call.
    attributes = ",".join(
        item if isinstance(item, str) else item[0] for item in keep if item not in ("id", "displayed_as")
    )

    def sage_call(arguments: dict) -> SageCall:
        params = _query(arguments, tuple(filters))
        params.append(("page", str(arguments.get("page", 1))))
        params.append(("items_per_page", str(arguments.get("items_per_page", 20))))
        params.append(("attributes", attributes))
        if sort:
            params.append(("sort", sort))
        return SageCall("GET", path, params)

    return Tool(
        name=name,
        description=description,
        input_schema=_schema({**filters, **PAGING}),
        sage_call=sage_call,
        keep=keep,
        sage_resource=sage_resource,
        lists=True,
        sage_query_path=path,
    )


# --- what the model gets back ---------------------------------------------------------------------------

LINK = ("id", "displayed_as")
CONTACT_SUMMARY = ("id", "displayed_as", "name", "reference", "email", ("contact_types", ("id",)), "balance")
CONTACT_DETAIL = (
    *CONTACT_SUMMARY,
    "tax_number",
    "notes",
    ("currency", ("id",)),
    ("main_address", ("address_line_1", "address_line_2", "city", "postal_code", "region")),
    ("main_contact_person", ("name", "email", "telephone", "mobile")),
    "created_at",
    "updated_at",
)
INVOICE_SUMMARY = (
    "id",
    "displayed_as",
    "invoice_number",
    ("contact", LINK),
    "date",
    "due_date",
    "reference",
    ("status", ("id",)),
    ("currency", ("id",)),
    "total_amount",
    "outstanding_amount",
)
INVOICE_DETAIL = (
    *INVOICE_SUMMARY,
    "net_amount",
    "tax_amount",
    "total_paid",
    "notes",
    (
        "invoice_lines",
        (
            "description",
            ("ledger_account", LINK),
            "quantity",
            "unit_price",
            ("tax_rate", LINK),
            "net_amount",
            "tax_amount",
            "total_amount",
        ),
    ),
    "last_paid",
)
PAYMENT_DETAIL = (
    "id",
    "displayed_as",
    ("transaction_type", ("id",)),
    ("contact", LINK),
    ("bank_account", LINK),
    ("payment_method", ("id",)),
    "date",
    "reference",
    "total_amount",
    ("allocated_artefacts", (("artefact", LINK), "amount")),
)
LEDGER_ACCOUNT = (
    "id",
    "displayed_as",
    "name",
    "nominal_code",
    ("ledger_account_type", ("id",)),
    "visible_scopes",
)
BANK_ACCOUNT = ("id", "displayed_as", ("bank_account_type", ("id",)), "nominal_code", "balance")
TAX_RATE = ("id", "displayed_as", "name", "percentage", "is_visible")

# --- the tools ------------------------------------------------------------------------------------------

search_contacts = _list_tool(
    name="search_contacts",
    description=(
        "Find contacts (customers and vendors) in the user's Sage Accounting business. Filter by free text "
        "(name or reference), by exact email, or by type. Read-only. Returns a page of contacts with id, name, "
        "reference, email, types and balance; use an id with get_contact, list_sales_invoices or "
        "create_sales_invoice."
    ),
    path="/contacts",
    filters={
        "search": {"type": "string", "maxLength": 100, "description": "Text in the name or reference."},
        "email": {"type": "string", "maxLength": 100, "description": "Exact email address of the contact."},
        "contact_type_id": {
            "type": "string",
            "enum": ["CUSTOMER", "VENDOR"],
            "description": "Only customers or only vendors.",
        },
    },
    keep=CONTACT_SUMMARY,
    sage_resource="Contact",
)

get_contact = Tool(
    name="get_contact",
    description=(
        "Read one contact of the user's Sage business by id: name, reference, email, types, balance, currency, "
        "address and main contact person. Read-only."
    ),
    input_schema=_schema({"id": {**ID, "description": "The contact's id (from search_contacts)."}}, ("id",)),
    sage_call=lambda arguments: SageCall("GET", f"/contacts/{arguments['id']}"),
    keep=CONTACT_DETAIL,
    sage_resource="Contact",
    sage_query_path="/contacts/{key}",
)

create_contact = Tool(
    name="create_contact",
    description=(
        "WRITES TO SAGE: creates a new contact (a customer or a vendor) in the user's Sage business and returns "
        "it with its id. It is sent once and never retried automatically: if the answer is lost, search for the "
        "contact (search_contacts by email or name) before creating it again, or you will make a duplicate."
    ),
    input_schema=_schema(
        {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "description": "Person or company name.",
            },
            "contact_type_ids": {
                "type": "array",
                "items": {"type": "string", "enum": ["CUSTOMER", "VENDOR"]},
                "minItems": 1,
                "uniqueItems": True,
                "description": 'What the contact is: ["CUSTOMER"], ["VENDOR"] or both.',
            },
            "email": {"type": "string", "maxLength": 100, "description": "Email of the main contact person."},
            "reference": {
                "type": "string",
                "maxLength": 10,
                "description": "Short unique reference (Sage makes one from the name if omitted).",
            },
            "tax_number": {"type": "string", "maxLength": 255, "description": "VAT registration number."},
            "notes": {"type": "string", "maxLength": 4000},
            "main_address": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "address_line_1": {"type": "string", "maxLength": 50},
                    "address_line_2": {"type": "string", "maxLength": 50},
                    "city": {"type": "string", "maxLength": 50},
                    "postal_code": {"type": "string", "maxLength": 10},
                    "region": {"type": "string", "maxLength": 50},
                },
            },
        },
        ("name", "contact_type_ids"),
    ),
    sage_call=lambda arguments: SageCall(
        "POST",
        "/contacts",
        json={
            "contact": _drop_empty(
                {
                    "name": arguments["name"],
                    "contact_type_ids": arguments["contact_type_ids"],
                    "reference": arguments.get("reference"),
                    "tax_number": arguments.get("tax_number"),
                    "notes": arguments.get("notes"),
                    "main_address": arguments.get("main_address"),
                    # Sage keeps a contact's email on its main contact person.
                    "main_contact_person": {"email": arguments["email"]} if arguments.get("email") else None,
                }
            )
        },
    ),
    keep=CONTACT_DETAIL,
    sage_resource="Contact",
    writes=True,
    sage_body="postContacts",
)

INVOICE_STATUSES = ["DRAFT", "UNPAID", "PART_PAID", "PAID", "VOID"]

list_sales_invoices = _list_tool(
    name="list_sales_invoices",
    description=(
        "List sales invoices of the user's Sage business, newest first, filtered by contact, status and invoice "
        "date range. Read-only. Each invoice comes with number, contact, dates, status, total and outstanding "
        "amount; use get_sales_invoice for its lines."
    ),
    path="/sales_invoices",
    filters={
        "contact_id": {**ID, "description": "Only this contact's invoices."},
        "status_id": {
            "type": "string",
            "enum": INVOICE_STATUSES,
            "description": "Only invoices in this status (UNPAID and PART_PAID are the ones still owed).",
        },
        "from_date": {**DATE, "description": "Invoice date on or after this day (YYYY-MM-DD)."},
        "to_date": {**DATE, "description": "Invoice date on or before this day (YYYY-MM-DD)."},
        "search": {"type": "string", "maxLength": 100, "description": "Text in the number or reference."},
    },
    keep=INVOICE_SUMMARY,
    sage_resource="SalesInvoice",
    sort="date:desc",
)

get_sales_invoice = Tool(
    name="get_sales_invoice",
    description=(
        "Read one sales invoice of the user's Sage business by id: number, contact, dates, status, amounts "
        "(net, tax, total, paid, outstanding) and its lines. Read-only."
    ),
    input_schema=_schema({"id": {**ID, "description": "The invoice's id."}}, ("id",)),
    sage_call=lambda arguments: SageCall("GET", f"/sales_invoices/{arguments['id']}"),
    keep=INVOICE_DETAIL,
    sage_resource="SalesInvoice",
    sage_query_path="/sales_invoices/{key}",
)

create_sales_invoice = Tool(
    name="create_sales_invoice",
    description=(
        "WRITES TO SAGE: creates a sales invoice (status UNPAID) for a customer in the user's Sage business; it "
        "is added to the customer's balance and the business's sales. Each line needs a description, a sales "
        "ledger account (list_ledger_accounts with visible_in=sales) and a unit price; tax_rate_id from "
        "list_tax_rates. Sent once and never retried automatically: if the answer is lost, look for the invoice "
        "(list_sales_invoices for the contact) before creating it again."
    ),
    input_schema=_schema(
        {
            "contact_id": {**ID, "description": "The customer (from search_contacts)."},
            "date": {**DATE, "description": "Invoice date (YYYY-MM-DD)."},
            "due_date": {
                **DATE,
                "description": "Due date (YYYY-MM-DD); Sage applies the contact's terms if omitted.",
            },
            "reference": {
                "type": "string",
                "maxLength": 25,
                "description": "Your reference, e.g. an order number.",
            },
            "notes": {"type": "string", "maxLength": 2000},
            "invoice_lines": {
                "type": "array",
                "minItems": 1,
                "maxItems": 100,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "description": {"type": "string", "minLength": 1, "maxLength": 2000},
                        "ledger_account_id": {**ID, "description": "A sales ledger account id."},
                        "quantity": QUANTITY,
                        "unit_price": {**AMOUNT, "description": 'Price of one, before tax, e.g. "25.99".'},
                        "tax_rate_id": {**ID, "description": "A tax rate id (list_tax_rates)."},
                    },
                    "required": ["description", "ledger_account_id", "unit_price"],
                },
            },
        },
        ("contact_id", "date", "invoice_lines"),
    ),
    sage_call=lambda arguments: SageCall(
        "POST",
        "/sales_invoices",
        json={
            "sales_invoice": _drop_empty(
                {
                    "contact_id": arguments["contact_id"],
                    "date": arguments["date"],
                    "due_date": arguments.get("due_date"),
                    "reference": arguments.get("reference"),
                    "notes": arguments.get("notes"),
                    "invoice_lines": [
                        _drop_empty(
                            {
                                "description": line["description"],
                                "ledger_account_id": line["ledger_account_id"],
                                "quantity": _decimal(line.get("quantity", "1")),
                                "unit_price": _decimal(line["unit_price"]),
                                "tax_rate_id": line.get("tax_rate_id"),
                            }
                        )
                        for line in arguments["invoice_lines"]
                    ],
                }
            )
        },
    ),
    keep=INVOICE_DETAIL,
    sage_resource="SalesInvoice",
    writes=True,
    sage_body="postSalesInvoices",
)

record_customer_receipt = Tool(
    name="record_customer_receipt",
    description=(
        "WRITES TO SAGE: records money received from a customer into one of the business's bank accounts "
        "(a CUSTOMER_RECEIPT contact payment) and allocates it to the customer's invoices, which become PAID, or "
        "PART_PAID when not fully covered. The allocations must not add up to more than total_amount. Sent once "
        "and never retried automatically: if the answer is lost, read the invoice (get_sales_invoice) to see "
        "whether it was paid before recording the receipt again."
    ),
    input_schema=_schema(
        {
            "contact_id": {**ID, "description": "The customer who paid."},
            "bank_account_id": {
                **ID,
                "description": "The bank account the money went into (list_bank_accounts).",
            },
            "date": {**DATE, "description": "Date the money was received (YYYY-MM-DD)."},
            "total_amount": {**AMOUNT, "description": 'The amount received, e.g. "51.98".'},
            "payment_method_id": {
                "type": "string",
                "enum": ["BANK_TRANSFER", "CASH", "CHECK", "CREDIT_DEBIT", "ALTERNATIVE_PAYMENT"],
                "description": "How the customer paid (default: Sage's default for the bank account).",
            },
            "reference": {
                "type": "string",
                "maxLength": 25,
                "description": "e.g. the bank statement reference.",
            },
            "allocations": {
                "type": "array",
                "minItems": 1,
                "maxItems": 100,
                "description": "The invoices this payment settles, and how much of it goes to each.",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "invoice_id": {**ID, "description": "A sales invoice id of this customer."},
                        "amount": {**AMOUNT, "description": "How much of the payment goes to this invoice."},
                    },
                    "required": ["invoice_id", "amount"],
                },
            },
        },
        ("contact_id", "bank_account_id", "date", "total_amount", "allocations"),
    ),
    sage_call=lambda arguments: SageCall(
        "POST",
        "/contact_payments",
        json={
            "contact_payment": _drop_empty(
                {
                    "transaction_type_id": "CUSTOMER_RECEIPT",
                    "contact_id": arguments["contact_id"],
                    "bank_account_id": arguments["bank_account_id"],
                    "date": arguments["date"],
                    "total_amount": _decimal(arguments["total_amount"]),
                    "payment_method_id": arguments.get("payment_method_id"),
                    "reference": arguments.get("reference"),
                    "allocated_artefacts": [
                        {"artefact_id": allocation["invoice_id"], "amount": _decimal(allocation["amount"])}
                        for allocation in arguments["allocations"]
                    ],
                }
            )
        },
    ),
    keep=PAYMENT_DETAIL,
    sage_resource="ContactPayment",
    writes=True,
    sage_body="postContactPayments",
)

list_ledger_accounts = _list_tool(
    name="list_ledger_accounts",
    description=(
        "List the ledger accounts (chart of accounts) of the user's Sage business: id, name, nominal code, type. "
        "Use visible_in=sales for the accounts an invoice line can be booked to. Read-only."
    ),
    path="/ledger_accounts",
    filters={
        "visible_in": {
            "type": "string",
            "enum": [
                "sales",
                "expenses",
                "banking",
                "other_payments",
                "other_receipts",
                "journals",
                "reporting",
            ],
            "description": "Only accounts offered in this area (sales for invoice lines).",
        },
        "search": {"type": "string", "maxLength": 100, "description": "Text in the name, or a nominal code."},
    },
    keep=LEDGER_ACCOUNT,
    sage_resource="LedgerAccount",
)

list_bank_accounts = _list_tool(
    name="list_bank_accounts",
    description=(
        "List the bank accounts of the user's Sage business (id, name, type, balance): the accounts a customer "
        "receipt can be paid into. Read-only."
    ),
    path="/bank_accounts",
    filters={},
    keep=BANK_ACCOUNT,
    sage_resource="BankAccount",
)

list_tax_rates = _list_tool(
    name="list_tax_rates",
    description=(
        "List the tax rates of the user's Sage business (id, name, percentage), for the tax_rate_id of "
        "invoice lines. Read-only."
    ),
    path="/tax_rates",
    filters={},
    keep=TAX_RATE,
    sage_resource="TaxRate",
)

TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        search_contacts,
        get_contact,
        create_contact,
        list_sales_invoices,
        get_sales_invoice,
        create_sales_invoice,
        record_customer_receipt,
        list_ledger_accounts,
        list_bank_accounts,
        list_tax_rates,
    )
}
WRITE_TOOLS = tuple(name for name, tool in TOOLS.items() if tool.writes)
