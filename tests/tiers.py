"""The test tiers. `slow`: a test that runs audits or subprocesses and took more than about 1 s, measured with
`python -m pytest -n 2 --durations=0` on the 2-core CI machine (a test that shares a module-scoped fixture
with slow tests is slow too: running it alone pays for the fixture). `ddp`: a test of torch.distributed.

    python -m pytest -m "not slow"          the fast tier: unit, reference, catalogue and option tests
    python -m pytest -q -n 2                everything (the README gives the times)

A test that grows slow is added here by its function name (every parametrization of it is slow); a module
whose every test is slow is listed as ALL. tests/test_tiers.py checks that every name listed exists.
"""
from __future__ import annotations

ALL = "*"

SLOW: dict[str, object] = {
    "test_builtins.py": {
        "test_builtin_audits_clean",
        "test_every_check_ran_or_said_why",
    },
    "test_wheel.py": ALL,
    "test_compile.py": ALL,  # every test compiles a loss (about 2 s each; inductor's audits about a minute)
    "test_lovasz_library.py": {"test_copied_library_loss_audits_to_its_row"},
    "test_references_jaccard.py": {"test_matches_monai_dice_loss_with_jaccard"},
    "test_browser.py": {
        "test_report_fits_a_phone_without_sideways_scrolling",
        "test_gallery_index_fits_a_laptop_with_the_loss_column_in_view",
    },
    "test_init.py": {
        "test_audit_without_as_guesses_the_id_as_init_does",
    },
    "test_sizes.py": {
        "test_inputs_are_drawn_at_the_class_count_the_candidate_was_built_for",
        "test_a_broken_twin_built_for_three_classes_is_still_caught",
    },
    "test_accumulation.py": {
        "test_a_count_taken_and_ignored_is_an_error_named_per_micro_batch_mean",
        "test_the_reproducer_shows_the_accumulated_loss_apart_from_the_full_batch",
        "test_num_items_in_batch_normalisation_passes_on_equal_and_unequal_micro_batches",
        "test_a_gradient_that_ignores_the_count_is_an_error",
        "test_a_plain_mean_over_kept_items_gets_the_advice_as_info",
        "test_silent_where_the_per_micro_batch_mean_is_exact",
        "test_a_correct_builtin_trained_with_ignore_index_exits_0_with_the_info_alone",
    },
    "test_class_last.py": {
        "test_a_language_model_cross_entropy_is_audited_in_its_own_layout",
        "test_a_mean_per_sequence_exits_1_named",
        "test_a_loss_that_flattens_the_tokens_is_audited_in_its_own_layout",
    },
    "test_library_words.py": {"test_a_library_word_for_a_reduction_is_the_reference_s_and_the_candidate_gets_its_own",
                              "test_a_distillation_loss_s_batchmean_is_kd_s_mean"},
    "test_chunks.py": {
        "test_a_chunked_loss_that_runs_only_on_one_token_sequences_is_not_passed",
        "test_a_chunked_cross_entropy_is_found_and_audited_in_its_layout",
        "test_a_chunked_mistake_exits_1_named_with_the_list_in_its_reproducer",
        "test_the_ranks_hand_each_shard_its_chunks",
        "test_a_chunk_changed_in_place_in_the_worker_changes_the_whole_tensor",
        "test_a_chunked_loss_that_flattens_each_chunk_is_judged_on_class_indices_only",
    },
    "test_headlines.py": {
        "test_two_mistakes_are_named_in_one_message",
        "test_a_reduction_finding_of_the_diagnosed_variant_joins_its_headline",
        "test_each_shipped_mistake_is_named_first_on_one_screen",
    },
    "test_candidate.py": {
        "test_a_scripted_twin_that_halves_is_caught",
    },
    "test_catalogue.py": {
        "test_correct_twin_audits_clean",
        "test_defect_is_caught",
        "test_known_gap_exit_code_from_the_command_line",
        "test_kornia_alpha_is_a_declarable_convention",
    },
    "test_checks.py": {
        "test_batch_of_one_is_an_error_other_layouts_warnings",
        "test_info_only_findings_do_not_fail_the_audit",
        "test_kl_div_default_mean_is_a_warning_with_the_fix",
        "test_known_variant_is_named",
        "test_process_exit_is_survived_and_reported",
        "test_accelerator_parity_check",
        "test_correct_twin_is_clean",
        "test_fixture_is_caught",
        "test_same_seed_same_findings",
        "test_select_and_ignore_filter_codes",
    },
    "test_cli.py": {
        "test_accepted_options_and_json_on_stdout",
        "test_audit_leaves_no_hypothesis_directory",
        "test_buggy_loss_exits_1_with_error_findings",
        "test_builtin_passes",
        "test_fail_on_warning",
        "test_the_verdict_line_agrees_with_the_exit_code_and_fail_on",
        "test_hostile_candidate_json_on_stdout_is_valid",
        "test_hostile_candidate_text_in_every_report",
        "test_html_escapes_candidate_text",
        "test_ignore_drops_the_ignored_codes",
        "test_info_findings_never_fail",
        "test_json_report",
        "test_json_verdicts",
        "test_markdown_report",
        "test_no_arguments_shows_usage",
        "test_no_raw_control_character_reaches_the_terminal",
        "test_nothing_but_the_requested_report_is_written",
        "test_output_path_is_fixed_before_the_candidate_runs",
        "test_python_dash_m_and_console_script",
        "test_same_seed_same_findings",
        "test_select_keeps_only_the_selected_codes",
        "test_usage_errors_exit_2_with_one_line",
    },
    "test_determinism.py": ALL,
    "test_distributed.py": {
        "test_batch_dice_is_flagged_with_advice",
        "test_cli_ddp_end_to_end",
        "test_cli_refuses_fewer_than_two_processes",
        "test_cross_entropy_with_ignored_targets_is_flagged",
        "test_mse_passes_under_ddp_2_and_runs_last",
        "test_rank_that_dies_is_a_finding",
        "test_rank_that_exceeds_the_call_time_limit_is_a_finding",
        "test_rank_that_hangs_beyond_signals_is_a_finding_not_a_hang",
        "test_reproducer_shows_the_sharded_difference",
        "test_same_seed_same_finding",
        "test_three_ranks",
        "test_torch_cross_entropy_default_draws_no_ignored_target",
        "test_torch_cross_entropy_with_ignore_index_in_init_is_flagged",
    },
    "test_files.py": {
        "test_threads_writing_one_path",
        "test_two_processes_writing_one_path",
    },
    "test_forms.py": ALL,
    "test_gallery.py": {
        "test_committed_gallery_is_current",
        "test_same_seed_same_reports",
    },
    "test_gate.py": {
        "test_ci_baseline_flow",
        "test_ci_counts_and_seconds_agree_between_stdout_and_summary",
    },
    "test_leftovers.py": {
        "test_a_thread_left_running_by_forward_is_lc708_naming_it",
        "test_a_thread_started_at_import_is_lc708",
        "test_a_child_process_left_running_is_lc708_naming_it",
        "test_a_daemon_thread_that_ends_within_the_call_is_no_finding",
    },
    "test_protocol.py": {
        "test_a_candidate_op_runs_the_same_in_process_and_in_the_worker",
        "test_the_worker_serves_the_table",
    },
    "test_hostile.py": {
        "test_a_child_the_candidate_forks_dies_with_the_audit",
        "test_a_hang_at_import_is_bounded",
        "test_a_hang_on_call_n_is_lc706_never_a_pass",
        "test_a_signal_ends_the_audit_and_every_process_of_it",
        "test_a_thread_left_running_does_not_delay_the_exit",
        "test_a_worker_that_ends_on_call_n_is_lc706_and_the_audit_goes_on",
        "test_chdir_print_and_closed_stdout_at_import_do_not_reach_the_reports",
        "test_exit_zero_at_import_exits_2_with_one_line",
        "test_grad_mode_and_dtype_set_at_import_stay_in_the_worker",
        "test_one_broken_loss_fails_itself_only_under_ci",
        "test_patching_the_references_does_not_change_the_verdict",
        "test_sigterm_to_ci_leaves_no_process",
        "test_the_memory_limit_bounds_the_candidate_not_the_judge",
    },
    "test_isolation.py": ALL,
    "test_suppression.py": ALL,
    "test_keeper.py": {
        "test_a_signal_from_forward_ends_only_the_worker_and_is_lc706",
        "test_a_signal_at_import_makes_the_target_unusable",
        "test_a_judge_killed_outright_leaves_nothing_running",
        "test_every_hostile_candidate_is_a_finding_or_exit_2_under_audit",
        "test_ci_over_hostile_candidates_passes_none_and_leaves_nothing",
        "test_the_worker_is_the_keepers_child_and_neither_is_in_the_judges_group",
    },
    "test_maps.py": {
        "test_a_declared_map_audits_clean",
        "test_a_constant_factor_on_a_loss_proportional_to_its_parameter_is_no_parameter_map",
    },
    "test_refused_values.py": ALL,
    "test_box_conventions.py": ALL,
    "test_language_conventions.py": {"test_distillation_as_the_soft_target_cross_entropy_is_a_form_of_kd"},
    "test_none_forms.py": {"test_a_flattened_none_is_a_named_form_not_a_wrong_shape",
                           "test_a_per_sample_none_is_judged_in_its_form"},
    "test_layouts.py": {
        "test_cli_exits_2_with_one_line_and_still_writes_json",
        "test_probe_recognises_the_layout",
    },
    "test_libraries.py": {
        "test_library_loss_verdict",
    },
    "test_plugin.py": {
        "test_a_loss_configured_without_isolation_is_named_as_trusted_in_the_header",
        "test_a_loss_that_exits_at_import_fails_the_session",
        "test_bad_configuration_is_a_usage_error",
        "test_isolated_losses_get_no_trusted_line",
        "test_buggy_loss_fails_by_family_same_under_xdist_and_fixed_passes",
        "test_configured_losses_collected_with_family_ids",
        "test_fixture_and_marker_in_hand_written_tests",
        "test_fixture_options_are_checked_and_candidate_text_escaped",
    },
    "test_references.py": {
        "test_bce_with_logits_matches_torch",
        "test_cross_entropy_index_targets_match_torch",
        "test_cross_entropy_probability_targets_match_torch",
        "test_dice_matches_loop",
        "test_focal_matches_torchvision_formula",
        "test_info_nce_matches_torch_nt_xent",
        "test_kl_div_matches_torch",
        "test_nll_matches_torch",
    },
    "test_references_catalogue.py": {
        "test_focal_multiclass_matches_loop",
        "test_generalized_dice_matches_straightforward",
        "test_importing_the_new_modules_does_not_import_torch",
        "test_multilabel_soft_margin_matches_torch",
    },
    "test_reports.py": {
        "test_html_is_self_contained_with_plots",
        "test_json_matches_the_schema",
        "test_junit_has_one_testcase_per_check",
        "test_markdown_has_table_and_fenced_blocks",
        "test_schema_rejects_a_broken_report",
        "test_several_formats_side_by_side",
    },
    "test_reproducers.py": ALL,
    "test_tiers.py": {
        "test_the_marks_select_the_tiers",
    },
    "test_variants.py": {
        "test_correct_twin_is_clean",
        "test_declared_convention_is_not_reported",
        "test_variant_is_named",
    },
    "test_wild.py": {
        "test_correct_twins_pass",
        "test_mistake_is_named",
    },
    "test_imagetext_conventions.py": {
        "test_a_ranking_loss_whose_similarity_fct_says_dot_product_follows_that_convention",
        "test_open_clip_style_clip_loss_is_called_with_the_logit_scale_and_audits_clean",
        "test_the_log_forms_declared_audit_clean_and_a_forgotten_clamp_stays_an_error",
        "test_supcontrast_features_by_views_are_the_features_call_form",
    },
    # issue 22, the angular and multilabel families: every test runs audits
    "test_angular_conventions.py": ALL,
    "test_multilabel_conventions.py": ALL,
    # issue 22, the boxes and signal ids (diou, ciou, ssim, si_sdr)
    "test_signal_conventions.py": ALL,
    "test_references_boxes.py": {
        "test_diou_and_ciou_match_the_papers_equations_in_torch",
        "test_diou_of_concentric_boxes_is_the_iou_loss",
    },
    "test_references_signal.py": {
        "test_ssim_dssim_same_is_kornias_ssim_loss",
    },
    # issue 24, raw half inputs as their own option (--precision-raw)
    "test_precision.py": {
        "test_precision_alone_runs_autocast_only_and_leaves_a_loss_wrong_only_on_raw_half_unflagged",
    },
    "test_operations.py": {
        "test_a_stability_finding_records_its_operation_only_with_the_precision_family",
        "test_a_loss_with_two_unrelated_faults_keeps_two_headlines",
    },
}

DDP_MODULES = ("test_distributed.py",)

# Modules whose tests share a costly module-scoped fixture (test_cli.py: ~30 command runs, 50-90 s;
# test_reports.py: two audits): under pytest-xdist each goes to one worker, so the fixture runs once.
SHARED_FIXTURE_MODULES = ("test_cli.py", "test_reports.py")


def is_slow(module: str, function: str) -> bool:
    """Whether the test `function` of tests/`module` (a file name) belongs to the slow tier."""
    listed = SLOW.get(module, ())
    return listed == ALL or function in listed
