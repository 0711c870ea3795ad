"""Every rule the README states for the layers, once, as data: the rule, the checks that fail
when it breaks, and the bug-zoo members that prove it.

The README's rule tables are generated from RULES (`python -m convcheck.properties.rules`
prints them; tests/test_rules.py requires the README to hold exactly that text), so a stated
rule without a check cannot exist. tests/test_rules.py also requires every check pattern to
name collected tests and every zoo member to exist; tests/test_zoo.py requires the check that
catches a member to be one of the checks of a rule naming it.

A check is a pattern ('*' matches anything) over a test id without its implementation: e.g.
"test_forward_matches_torch[conv_forward-*" for properties/test_oracles.py::
test_forward_matches_torch[fast-conv_forward-F.conv2d].
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .open_points import markdown as open_points_markdown


@dataclass(frozen=True)
class Rule:
    section: str  # "semantics" or "contract"
    text: str
    checks: tuple
    zoo: tuple


FORWARD = "test_forward_matches_torch[{}-*"
BACKWARD = "test_backward_matches_torch[{}-*"
CONV_FORWARD = (FORWARD.format("conv_forward"), "test_translation_by_stride[conv]", "test_channel_permutation[conv]")
CONV_BACKWARD = (BACKWARD.format("conv_backward"), "test_gradient_*[conv_backward-*", "test_conv_backward_is_adjoint",
                 "test_batch_independence[conv]")
POOL_FORWARD = (FORWARD.format("pool_forward[*"), "test_pooling_laws", "test_translation_by_stride[pool]")
POOL_BACKWARD = (BACKWARD.format("pool_backward[*"), "test_gradient_*[pool_backward[*", "test_pool_backward_*")
MASK = (FORWARD.format("create_mask_from_window"),)
REGRESSION = "test_regression_case[{}]"

RULES = [
    # ---- semantics
    Rule("semantics", "conv_forward is cross-correlation (no kernel flip), windows `f` wide and `stride` apart, plus the bias of each output channel",
         CONV_FORWARD + (REGRESSION.format("tutorial_seed_window_end_stride"),),
         ("flipped_kernel", "bias_wrong_channel", "seed_window_end_stride")),
    Rule("semantics", "output size per axis is floor((n + pad_lo + pad_hi - dilation*(k-1) - 1) / stride) + 1",
         CONV_FORWARD, ("output_size_ceil",)),
    Rule("semantics", "pads are ((top, bottom), (left, right)); \"same\" puts the extra element of an odd total padding at the bottom/right",
         CONV_FORWARD + CONV_BACKWARD, ("asymmetric_pads_swapped", "same_pad_extra_on_top")),
    Rule("semantics", "groups: output channel c sees only its own group's input channels; dilation spaces the taps, in the backward too",
         CONV_FORWARD + CONV_BACKWARD, ("groups_mix_channels", "dilation_ignored_in_backward")),
    Rule("semantics", "conv_backward: dA_prev, dW and db are the gradients of conv_forward, summed over the batch",
         CONV_BACKWARD + ("test_contract_rejects[conv_backward-*", REGRESSION.format("tutorial_seed_backward_crop")),
         ("dW_not_accumulated", "db_first_example_only", "conv_backward_transposed_channels", "seed_backward_crop")),
    Rule("semantics", "zero_pad adds `pad` zeros on both sides of height and width; conv_single_step is sum(a_slice_prev * W) + b",
         (FORWARD.format("zero_pad"), "test_zero_pad_crop_identity", FORWARD.format("conv_single_step"),
          REGRESSION.format("tutorial_seed_float_bias")),
         ("zero_pad_one_side", "single_step_no_bias", "seed_float_bias")),
    Rule("semantics", "average pooling is the mean of the window; distribute_value spreads dz equally over (n_H, n_W)",
         POOL_FORWARD + POOL_BACKWARD + (FORWARD.format("distribute_value"), "test_distribute_value_laws"),
         ("average_pool_sum", "average_backward_divides_by_f", "distribute_sum_of_sides", "pool_backward_ignores_stride")),
    Rule("semantics", "pooling stride None means the window size; max pooling pads with -inf, average pooling with zeros",
         POOL_FORWARD + POOL_BACKWARD, ("stride_none_means_one", "max_pool_pads_with_zero")),
    Rule("semantics", "ceil_mode rounds the size up and drops a last window that would start in the bottom/right padding; "
         "one that runs past the padded input is clipped",
         POOL_FORWARD + POOL_BACKWARD, ("ceil_mode_keeps_window_in_padding",)),
    Rule("semantics", "the average divisor is divisor_override if given, else the window clipped to the padded input "
         "(count_include_pad, ceil-mode overflow excluded), else the window's real elements",
         POOL_FORWARD + POOL_BACKWARD, ("divisor_override_ignored", "count_include_pad_ignored", "divisor_counts_ceil_overflow")),
    Rule("semantics", "max pooling selects like torch's CPU kernel, scanning the window row-major: the first maximum; the mask is one-hot",
         MASK + POOL_BACKWARD + (REGRESSION.format("tutorial_seed_mask_all_ties"),), ("mask_last_max", "seed_mask_all_ties")),
    Rule("semantics", "a window holding NaN pools to NaN and sends its gradient to its last NaN",
         MASK + POOL_FORWARD + POOL_BACKWARD, ("max_pool_ignores_nan", "max_pool_first_nan")),
    Rule("semantics", "a dilated max window that sees only padding gives -inf and sends no gradient",
         (FORWARD.format("pool_forward[max, padding-only windows]"), BACKWARD.format("pool_backward[max, padding-only windows]"),
          "test_padding_only_windows_send_no_gradient"),
         ("padding_window_gradient_to_real",)),
    Rule("semantics", "NaN and +-inf propagate as in torch, in every input of every function, upstream gradients included "
         "(where one meets only a padding element of a convolution, either answer: the open point below the table)",
         CONV_BACKWARD + MASK + POOL_BACKWARD, ("conv_backward_nan_to_num",)),
    Rule("semantics", "results are within the tolerance policy of the exact value: no float32 accumulation for float64 inputs",
         CONV_FORWARD, ("float32_accumulation",)),
    # ---- contract
    Rule("contract", "invalid input raises ValueError naming the parameter and the value: arrays of the wrong rank, a channel "
         "mismatch between W and A_prev, b of the wrong shape, array inputs that are not ndarrays of float32 / float64 (scalars "
         "such as dz may be any real number), empty arrays (an empty batch: an open point), stride < 1, pad < 0, a kernel or "
         "window larger than the (padded) input, a mode other than \"max\" / \"average\", distribute_value shapes that are not "
         "two positive sizes, and every hyperparameter value torch rejects; never a silent wrong or empty result",
         ("test_error_equivalence_with_torch[*", "test_contract_rejects[*", REGRESSION.format("tutorial_seed_no_validation")),
         ("seed_no_validation",)),
    Rule("contract", "missing or unknown hparameters keys are a ValueError (a typo such as \"strides\" is one)",
         ("test_contract_rejects[*-missing-key]", "test_contract_rejects[*-unknown-key]"), ("accepts_unknown_keys",)),
    Rule("contract", "dZ / dA whose shape does not match the cache is a ValueError, also when it would broadcast",
         ("test_contract_rejects[conv_backward-dZ-*", "test_contract_rejects[pool_backward-dA-*"), ("conv_backward_broadcasts_dz",)),
    Rule("contract", "hyperparameters are integers: Python or NumPy integers (np.int64(2) is valid); bool and numpy.bool_ are not",
         CONV_FORWARD + CONV_BACKWARD + POOL_FORWARD + POOL_BACKWARD + ("test_contract_rejects[*-bool]", "test_error_equivalence_with_torch[*"),
         ("rejects_numpy_int_hparameters",)),
    Rule("contract", "create_mask_from_window takes 2-D windows of any integer dtype or float32 / float64, compared in their own dtype "
         "(exact for integers at any magnitude; the suite draws abs(x) <= 2**53, where torch, its oracle, is exact); bool is not an integer here",
         MASK + ("test_contract_rejects[create_mask_from_window-*", REGRESSION.format("assignment_public_int_mask")),
         ("mask_compares_in_float32",)),
    Rule("contract", "read-only arrays, Fortran-ordered arrays and non-contiguous views are valid inputs",
         CONV_FORWARD + CONV_BACKWARD, ("rejects_readonly",)),
    Rule("contract", "callers' arrays are never modified",
         CONV_BACKWARD + CONV_FORWARD + ("test_contract_rejects[conv_backward-*",), ("mutates_input",)),
    Rule("contract", "dtype: float32 in -> float32 out, float64 -> float64 (mixed arrays: an open point)",
         ("test_forward_matches_torch[*", "test_backward_matches_torch[*", "test_float32_kept[*"), ("float32_becomes_float64",)),
    Rule("contract", "the same call on identical inputs gives identical results (NaN equal to NaN, -0.0 to 0.0)",
         (FORWARD.format("*"), BACKWARD.format("*")), ("uninitialized_output_row",)),
    Rule("contract", "at an open point (below), either allowed behaviour; a result is checked against torch like any other",
         ("test_open_point[*", "test_error_equivalence_with_torch[*"), ("empty_batch_wrong_shape", "mixed_dtypes_in_float32")),
]


def matches(pattern: str, test_id: str) -> bool:
    """Whether a test id (without its implementation, e.g. 'test_pooling_laws' or
    'test_forward_matches_torch[conv_forward-F.conv2d]') matches a rule's check pattern, in
    which '*' is the only wildcard."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), test_id) is not None


def test_id(nodeid: str, implementation: str) -> str:
    """'properties/test_x.py::test_y[IMPL-rest]' -> 'test_y[rest]' ('test_y' for [IMPL] alone)."""
    name = nodeid.split("::", 1)[-1]
    return re.sub(rf"\[{re.escape(implementation)}(?:-|\])", lambda m: "[" if m.group(0).endswith("-") else "", name)


def markdown(section: str) -> str:
    """The README's table of one section's rules."""
    lines = ["| rule | checks (fail when it breaks) | proven by (bug zoo) |", "|---|---|---|"]
    for rule in RULES:
        if rule.section == section:
            checks = ", ".join(f"`{c}`" for c in rule.checks)
            lines.append(f"| {rule.text} | {checks} | {', '.join(f'`{z}`' for z in rule.zoo)} |")
    return "\n".join(lines)


BLOCKS = {"semantics": lambda: markdown("semantics"), "contract": lambda: markdown("contract"), "open-points": open_points_markdown}


def readme_blocks(text: str) -> dict:
    """name -> the text between <!-- rules:NAME --> and <!-- /rules:NAME --> in the README."""
    return {m.group(1): m.group(2).strip("\n") for m in re.finditer(r"<!-- rules:([\w-]+) -->\n(.*?)<!-- /rules:\1 -->", text, re.S)}


def render_readme(text: str) -> str:
    """The README with every generated block replaced by its current rendering."""
    return re.sub(r"(<!-- rules:([\w-]+) -->\n)(.*?)(<!-- /rules:\2 -->)", lambda m: m.group(1) + BLOCKS[m.group(2)]() + "\n" + m.group(4), text,
                  flags=re.S)


if __name__ == "__main__":  # python -m convcheck.properties.rules README.md: rewrite its generated blocks
    import sys

    path = sys.argv[1]
    with open(path, encoding="utf-8") as fh:
        old = fh.read()
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(render_readme(old))
