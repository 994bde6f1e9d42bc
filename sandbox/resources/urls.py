"""Accounting resources, mounted by sandbox/urls.py at `api/v3.1/` (paths as under Sage's /v3.1)."""

from django.urls import path

from . import books, contact_payments, contacts, reference_data, sales_invoices

urlpatterns = [
    path("contacts", contacts.contacts_collection, name="contacts"),
    path("contacts/<str:key>", contacts.contact_detail, name="contact"),
    path("sales_invoices", sales_invoices.sales_invoices_collection, name="sales_invoices"),
    path("sales_invoices/<str:key>", sales_invoices.sales_invoice_detail, name="sales_invoice"),
    path(
        "sales_invoices/<str:key>/release", sales_invoices.sales_invoice_release, name="sales_invoice_release"
    ),
    path("contact_payments", contact_payments.contact_payments_collection, name="contact_payments"),
    path("contact_payments/<str:key>", contact_payments.contact_payment_detail, name="contact_payment"),
    path("ledger_accounts", books.ledger_accounts_collection, name="ledger_accounts"),
    path("ledger_accounts/<str:key>", books.ledger_account_detail, name="ledger_account"),
    path("bank_accounts", books.bank_accounts_collection, name="bank_accounts"),
    path("bank_accounts/<str:key>", books.bank_account_detail, name="bank_account"),
    path("tax_rates", books.tax_rates_collection, name="tax_rates"),
    path("tax_rates/<str:key>", books.tax_rate_detail, name="tax_rate"),
    path("payment_methods", reference_data.payment_methods_collection, name="payment_methods"),
    path("payment_methods/<str:key>", reference_data.payment_method_detail, name="payment_method"),
    path("transaction_types", reference_data.transaction_types_collection, name="transaction_types"),
    path("transaction_types/<str:key>", reference_data.transaction_type_detail, name="transaction_type"),
    path("contact_types", reference_data.contact_types_collection, name="contact_types"),
    path("contact_types/<str:key>", reference_data.contact_type_detail, name="contact_type"),
    path("artefact_statuses", reference_data.artefact_statuses_collection, name="artefact_statuses"),
    path("artefact_statuses/<str:key>", reference_data.artefact_status_detail, name="artefact_status"),
]
