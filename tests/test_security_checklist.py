"""Which tests cover which security and reliability check, so that each stays covered.

``HARDENING`` maps every finding of the adversarial review (files at rest, the audit trail,
sign-in limits, server limits and the low-severity items) to the tests that failed before
its fix; ``CHECKLIST`` maps the project's security checklist (accounts and sessions, access
control, requests and output, PDFs, audit, data protection, reliability) to the tests
that check each line. The test below fails when a named test no longer exists, so a
check cannot silently lose its test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HARDENING = {
    "1 files at rest are the owner's only (0600 files, 0700 folders), whatever the umask": [
        "tests/test_files_at_rest.py::test_database_wal_and_shm_are_private_while_in_use",
        "tests/test_files_at_rest.py::test_command_line_files_are_private",
        "tests/test_files_at_rest.py::test_db_init_warns_when_others_can_read_the_database",
        "tests/test_files_at_rest.py::test_serve_warns_and_anchors_the_audit",
        "tests/exports/test_research_privacy.py::test_export_files_are_private_whatever_the_umask",
    ],
    "2 the audit trail is keyed, anchored and cannot be rewritten unseen": [
        "tests/test_audit.py::test_removing_the_last_rows_is_found_by_the_anchor",
        "tests/test_audit.py::test_removing_every_row_is_found",
        "tests/test_audit.py::test_edited_and_rehashed_row_is_found",
        "tests/test_audit.py::test_rehashed_under_a_stolen_key_is_found_by_the_anchor",
        "tests/test_audit.py::test_removed_renumbered_and_rehashed_row_is_found",
        "tests/test_audit.py::test_forged_row_appended_is_found",
        "tests/test_audit.py::test_dropped_insert_trigger_is_reported",
        "tests/test_audit.py::test_update_and_delete_are_refused",
        "tests/test_audit.py::test_server_anchors_periodically_and_stops_on_a_broken_chain",
        "tests/test_audit.py::test_command_line_anchors_and_verifies_against_anchors",
    ],
    "3 wrong two-factor codes count per account": [
        "tests/web/test_sign_in_limits.py::test_wrong_two_factor_codes_count_per_account",
    ],
    "4 per-account progressive delay; per-address limit behind a trusted proxy; shared "
    "limiter storage; 429s audited": [
        "tests/web/test_sign_in_limits.py::test_the_wait_grows_and_stops_at_its_cap",
        "tests/web/test_sign_in_limits.py::test_refused_attempts_do_not_extend_the_wait",
        "tests/web/test_sign_in_limits.py::"
        "test_naming_an_account_does_not_slow_the_browsers_it_signs_in_from",
        "tests/web/test_sign_in_limits.py::test_the_address_limit_is_per_client_address",
        "tests/web/test_sign_in_limits.py::test_a_shared_storage_limits_across_server_processes",
        "tests/web/test_server_limits.py::test_behind_the_trusted_proxy_the_limit_is_per_client",
        "tests/web/test_server_limits.py::test_x_forwarded_for_from_anyone_else_is_not_believed",
    ],
    "5 unfinished connections do not stop the server; body limit 1 MB": [
        "tests/web/test_server_limits.py::test_150_unfinished_requests_do_not_stop_the_server",
    ],
    "6 broken UTF-8 in multipart bodies is refused": [
        "tests/web/test_input_checks.py::test_broken_utf8_in_a_multipart_body_gets_a_clear_error",
    ],
    "7 nothing of a typed username is kept beyond an HMAC": [
        "tests/web/test_sign_in_limits.py::test_nothing_of_a_typed_username_is_kept",
    ],
    "8 erasure reasons are codes and reference numbers, never free text": [
        "tests/test_erasure.py::test_erasure_needs_a_reason_code_and_a_reference_number",
    ],
    "9 nobody changes their own role or teams": [
        "tests/web/test_user_teams.py::test_an_administrator_cannot_change_their_own_teams_or_role",
    ],
    "10 numeric parameters are range-checked (400)": [
        "tests/web/test_input_checks.py::test_audit_page_numbers_out_of_range_get_400",
        "tests/web/test_input_checks.py::test_a_revision_no_database_can_hold_changes_nothing",
    ],
    "11 the operating-system account is recorded beside --actor": [
        "tests/test_audit.py::"
        "test_command_line_records_the_operating_system_account_beside_the_actor",
    ],
    "12 exports 0600; k below 5 only with --allow-small-k, recorded": [
        "tests/exports/test_research_privacy.py::test_k_below_5_needs_allow_small_k_and_is_recorded",
        "tests/exports/test_research_privacy.py::test_default_k_is_not_marked_small",
    ],
    "13 double submit creates one record; sign out everywhere; session limit": [
        "tests/web/test_double_submit.py::test_a_new_case_form_sent_twice_creates_one_case",
        "tests/web/test_double_submit.py::test_sent_twice_at_the_same_moment_still_one_case",
        "tests/web/test_double_submit.py::test_start_assessment_sent_twice_creates_one_draft",
        "tests/web/test_double_submit.py::test_sign_out_everywhere_ends_every_session",
        "tests/web/test_double_submit.py::test_the_organisation_limits_sessions_per_account",
    ],
    "14 the two-factor key being set up stays on the server": [
        "tests/web/test_accounts.py::test_the_key_being_set_up_stays_on_the_server",
    ],
    "15 responses the server writes itself carry the security headers": [
        "tests/web/test_server_limits.py::"
        "test_responses_waitress_writes_itself_carry_the_security_headers",
    ],
    "16 passwords containing the username or one repeated character are refused": [
        "tests/web/test_accounts.py::test_password_policy",
        "tests/web/test_accounts.py::test_a_password_with_the_username_is_refused_on_the_page",
    ],
    "17 a current floor for the build tools in the set-up step": [
        "tests/test_setup.py::test_setup_pins_the_build_tools",
        "tests/test_setup.py::test_make_installs_the_dependencies_from_the_lock",
    ],
}

CHECKLIST = {
    "passwords: Argon2id, rehash, long passwords, policy, first administrator": [
        "tests/web/test_accounts.py::test_passwords_are_argon2id",
        "tests/web/test_accounts.py::test_rehash_on_login_when_parameters_change",
        "tests/web/test_accounts.py::test_long_passwords_work_unchanged",
        "tests/web/test_accounts.py::test_fresh_database_has_no_usable_account",
        "tests/web/test_accounts.py::test_create_admin_command_prints_one_time_password",
    ],
    "sign-in: same answer and time; slowed and audited; TOTP": [
        "tests/web/test_accounts.py::test_unknown_user_and_wrong_password_same_answer_and_time",
        "tests/web/test_accounts.py::test_failed_sign_ins_are_slowed_and_audited",
        "tests/web/test_accounts.py::test_totp_sign_in",
        "tests/web/test_accounts.py::test_organisation_can_require_totp",
    ],
    "audit: append-only, hash-chained, verified": [
        "tests/test_audit.py::test_chain_verifies",
        "tests/test_audit.py::test_edited_row_is_named",
    ],
    "logs carry nothing identifying": [
        "tests/web/test_logs.py::test_logs_hold_nothing_identifying",
        "tests/web/test_logs.py::test_access_lines_name_route_patterns_never_paths",
    ],
    "erasure removes the record from the database and its WAL": [
        "tests/test_erasure.py::test_erased_person_leaves_no_trace_on_disk",
        "tests/test_erasure.py::test_erasure_says_what_remains_where",
        "tests/store/test_erasing.py::"
        "test_on_postgresql_the_tables_an_erasure_touched_are_vacuumed",
    ],
    "research exports: pseudonyms, k-anonymity, suppression, formula cells": [
        "tests/exports/test_research_privacy.py::test_pseudonyms_are_hmacs_under_the_project_key",
        "tests/exports/test_research_privacy.py::"
        "test_rare_combination_of_quasi_identifiers_stops_the_export",
        "tests/exports/test_research_privacy.py::"
        "test_small_counts_are_suppressed_in_the_aggregate_table",
        "tests/exports/test_research_privacy.py::test_formula_cells_are_neutralised",
    ],
    "reliability: concurrent clients lose nothing; a killed server loses nothing": [
        "tests/web/test_concurrency.py::test_concurrent_clients_lose_and_duplicate_nothing",
        "tests/web/test_crash_server.py",
    ],
    "bad input gets a clear error: oversized, endless, free text never quoted": [
        "tests/test_cli.py::test_score_reads_at_most_its_limit_from_a_device",
        "tests/test_cli.py::test_score_reads_at_most_its_limit_from_a_pipe",
        "tests/test_cli_errors.py::test_messages_never_quote_free_text_and_bound_other_values",
    ],
}


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


@pytest.mark.parametrize("check, tests", [*HARDENING.items(), *CHECKLIST.items()],
                         ids=[k.split(" ")[0] for k in [*HARDENING, *CHECKLIST]])
def test_every_check_names_tests_that_exist(check, tests):
    assert tests, check
    for test in tests:
        file, _, name = test.partition("::")
        path = ROOT / file
        assert path.is_file(), f"{check}: {file} is gone"
        if name:
            assert name in _tests_in(path), f"{check}: {test} is gone"
