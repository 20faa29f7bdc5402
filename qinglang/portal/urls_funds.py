"""Pages of the funds app (included by portal/urls.py, same namespace)."""

from django.urls import path

from .views import funds_banks, funds_console, funds_org, funds_parent, funds_receipts, funds_reviews

urlpatterns = [
    # parent end
    path("parent/funds/", funds_parent.parent_orders, name="parent_orders"),
    path("parent/funds/new/", funds_parent.parent_order_create, name="parent_order_create"),
    path("parent/funds/orders/<int:order_id>/", funds_parent.parent_order, name="parent_order"),
    path(
        "parent/funds/orders/<int:order_id>/refund/",
        funds_parent.parent_refund_request,
        name="parent_refund_request",
    ),
    path(
        "parent/funds/lessons/<int:lesson_id>/confirm/",
        funds_parent.parent_lesson_confirm,
        name="parent_lesson_confirm",
    ),
    path(
        "parent/funds/lessons/<int:lesson_id>/dispute/",
        funds_parent.parent_lesson_dispute,
        name="parent_lesson_dispute",
    ),
    path(
        "parent/funds/orders/<int:order_id>/contract.docx",
        funds_receipts.parent_contract,
        name="parent_contract",
    ),
    path(
        "parent/funds/orders/<int:order_id>/contract/accept/",
        funds_receipts.parent_contract_accept,
        name="parent_contract_accept",
    ),
    path("parent/funds/receipts/<int:receipt_id>/", funds_receipts.parent_receipt, name="parent_receipt"),
    path(
        "parent/funds/receipts/<int:receipt_id>/receipt.pdf",
        funds_receipts.parent_receipt_pdf,
        name="parent_receipt_pdf",
    ),
    # public receipt check
    path("verify/", funds_receipts.receipt_verify_form, name="receipt_verify_form"),
    path("verify/<str:verification>/", funds_receipts.receipt_verify, name="receipt_verify"),
    # institution end
    path("org/<int:pk>/funds/", funds_org.org_funds, name="org_funds"),
    path("org/<int:pk>/funds/batch/", funds_org.org_batch, name="org_batch"),
    path("org/funds/batch-template/", funds_org.org_batch_template, name="org_batch_template"),
    path("org/<int:pk>/funds/batch/<int:batch_id>/", funds_org.org_batch_report, name="org_batch_report"),
    path("org/<int:pk>/funds/refunds/", funds_org.org_refunds, name="org_refunds"),
    path(
        "org/<int:pk>/funds/refunds/<int:refund_id>/answer/",
        funds_org.org_refund_answer,
        name="org_refund_answer",
    ),
    path(
        "org/<int:pk>/funds/lessons/<int:lesson_id>/accept-dispute/",
        funds_org.org_dispute_accept,
        name="org_dispute_accept",
    ),
    path("org/<int:pk>/funds/declarations/", funds_org.org_declarations, name="org_declarations"),
    # regulator console
    path("console/funds/", funds_console.funds_overview, name="funds_overview"),
    path("console/funds/institutions/<int:pk>/", funds_console.funds_institution, name="funds_institution"),
    path("console/funds/institutions/<int:pk>/freeze/", funds_console.funds_freeze, name="funds_freeze"),
    path(
        "console/funds/institutions/<int:pk>/pro-rata/", funds_console.funds_pro_rata, name="funds_pro_rata"
    ),
    path("console/funds/differences/", funds_console.funds_differences, name="funds_differences"),
    path(
        "console/funds/differences/<int:difference_id>/resolve/",
        funds_console.funds_difference_resolve,
        name="funds_difference_resolve",
    ),
    path("console/funds/institutions/<int:pk>/deposit/", funds_reviews.funds_deposit, name="funds_deposit"),
    path("console/funds/disputes/", funds_reviews.funds_disputes, name="funds_disputes"),
    path(
        "console/funds/disputes/<int:lesson_id>/decide/",
        funds_reviews.funds_dispute_decide,
        name="funds_dispute_decide",
    ),
    path("console/funds/declarations/", funds_reviews.funds_declarations, name="funds_declarations"),
    # custody banks (bank operators and regulators)
    path("funds/banks/", funds_banks.bank_list, name="bank_list"),
    path("funds/banks/<int:bank_id>/instructions/", funds_banks.bank_instructions, name="bank_instructions"),
    path(
        "funds/banks/<int:bank_id>/instructions/file/",
        funds_banks.bank_instruction_file,
        name="bank_instruction_file",
    ),
    path("funds/banks/<int:bank_id>/statements/", funds_banks.bank_statements, name="bank_statements"),
    path(
        "funds/banks/statement-template/", funds_banks.bank_statement_template, name="bank_statement_template"
    ),
    path("funds/banks/<int:bank_id>/payments/", funds_banks.bank_payments, name="bank_payments"),
]
