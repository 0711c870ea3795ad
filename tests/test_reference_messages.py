"""The rejection messages, verbatim: one invalid call for every rejection of the shared
validation (reference/params.py) and for every parameter name it reports, in both references.

test_reference_contract.py checks over many inputs that a message contains the parameter's
name and the offending value. Here the whole text is fixed, so a message cannot name its
parameter inside a longer word, show some other value, or leave out (or wrongly add) the
explanation it owes: a kernel's dilation and extent, ceil_mode's stride, the window half size.
"""

from __future__ import annotations

import numpy as np
import pytest

from convcheck.reference import fast, loops

IMPLS = [pytest.param(loops, id="loops"), pytest.param(fast, id="fast")]


def zeros(*shape, dtype=np.float64):
    return np.zeros(shape, dtype=dtype)


# Valid calls that each case spoils in one place. Conv: a 4 x 4 input with 2 channels and a
# 3 x 3 kernel with 4 output channels, so Z and dZ are (1, 2, 2, 4). Pool: 2 x 2 windows,
# stride 2, so A and dA are (1, 2, 2, 2). conv_single_step: a 3 x 3 x 2 window.
A, W, b, CONV = zeros(1, 4, 4, 2), zeros(3, 3, 2, 4), zeros(1, 1, 1, 4), {"stride": 1, "pad": 0}
A4 = zeros(1, 4, 4, 4)  # 4 input channels, for groups
dZ = zeros(1, 2, 2, 4)
POOL = {"f": 2, "stride": 2}
dA = zeros(1, 2, 2, 2)
SLICE, FILTER, BIAS = zeros(3, 3, 2), zeros(3, 3, 2), zeros(1, 1, 1)


def conv(**hp):
    return lambda ref: ref.conv_forward(A, W, b, {**CONV, **hp})


def pool(mode="max", **hp):
    return lambda ref: ref.pool_forward(A, {**POOL, **hp}, mode)


MESSAGES = [
    # zero_pad
    ("X-list", lambda ref: ref.zero_pad([[1.0]], 1), "X must be a numpy.ndarray, got [[1.0]] (list)"),
    ("X-rank", lambda ref: ref.zero_pad(zeros(3, 3, 2), 1), "X must have 4 dimensions, got shape (3, 3, 2)"),
    ("X-dtype", lambda ref: ref.zero_pad(zeros(1, 3, 3, 2, dtype=np.float16), 1), "X must have dtype float32 or float64, got dtype float16"),
    ("X-empty", lambda ref: ref.zero_pad(zeros(1, 0, 3, 2), 1), "X must have no empty dimension, got shape (1, 0, 3, 2)"),
    ("pad-negative", lambda ref: ref.zero_pad(A, -1), "pad must be >= 0, got -1"),
    ("pad-float", lambda ref: ref.zero_pad(A, 1.0), "pad must be an integer, got 1.0 (float)"),
    # conv_single_step
    ("a_slice_prev-rank", lambda ref: ref.conv_single_step(zeros(3, 3), FILTER, BIAS), "a_slice_prev must have 3 dimensions, got shape (3, 3)"),
    ("W-rank", lambda ref: ref.conv_single_step(SLICE, zeros(3, 3), BIAS), "W must have 3 dimensions, got shape (3, 3)"),
    ("b-float", lambda ref: ref.conv_single_step(SLICE, FILTER, 0.5), "b must be a numpy.ndarray, got 0.5 (float)"),
    ("W-shape", lambda ref: ref.conv_single_step(SLICE, zeros(2, 3, 2), BIAS), "W must have shape (3, 3, 2), got shape (2, 3, 2)"),
    ("b-shape", lambda ref: ref.conv_single_step(SLICE, FILTER, zeros(1, 1, 2)), "b must have shape (1, 1, 1), got shape (1, 1, 2)"),
    # conv_forward: arrays
    ("A_prev-dtype", lambda ref: ref.conv_forward(A.astype(np.int64), W, b, CONV), "A_prev must have dtype float32 or float64, got dtype int64"),
    ("W-rank-4", lambda ref: ref.conv_forward(A, zeros(3, 3, 2), b, CONV), "W must have 4 dimensions, got shape (3, 3, 2)"),
    ("b-list", lambda ref: ref.conv_forward(A, W, [0.0], CONV), "b must be a numpy.ndarray, got [0.0] (list)"),
    ("W-empty", lambda ref: ref.conv_forward(A, zeros(3, 3, 2, 0), None, CONV), "W must have no empty dimension, got shape (3, 3, 2, 0)"),
    ("A_prev-empty", lambda ref: ref.conv_forward(zeros(0, 4, 4, 2), W, b, CONV), "A_prev must have no empty dimension, got shape (0, 4, 4, 2)"),
    ("b-shape-4", lambda ref: ref.conv_forward(A, W, zeros(1, 1, 1, 3), CONV), "b must have shape (1, 1, 1, 4), got shape (1, 1, 1, 3)"),
    # conv_forward: hparameters
    ("conv-hparameters-list", lambda ref: ref.conv_forward(A, W, b, [("stride", 1)]), "hparameters must be a dict (a mapping), got [('stride', 1)] (list)"),
    ("conv-missing", lambda ref: ref.conv_forward(A, W, b, {"stride": 1}), "hparameters is missing key(s) ['pad']; got keys ['stride']"),
    ("conv-unknown", conv(padding=0), "hparameters has unknown key(s) ['padding']; allowed keys are ['stride', 'pad', 'dilation', 'groups']"),
    ("conv-stride-triple", conv(stride=(1, 1, 1)),
     "hparameters['stride'] must be an integer or a pair of integers (height, width), got (1, 1, 1) (tuple)"),
    ("conv-stride-float", conv(stride=1.0), "hparameters['stride'] must be an integer or a pair of integers (height, width), got 1.0 (float)"),
    ("conv-stride-pair-zero", conv(stride=(1, 0)), "hparameters['stride'][1] must be >= 1, got 0"),
    ("conv-dilation-zero", conv(dilation=0), "hparameters['dilation'] must be >= 1, got 0"),
    ("conv-groups-bool", conv(groups=True), "hparameters['groups'] must be an integer, got True (bool)"),
    ("conv-pad-word", conv(pad="full"), "hparameters['pad'] must be an integer, a pair, a pair of pairs, 'same' or 'valid', got 'full' (str)"),
    ("conv-pad-float", conv(pad=1.5), "hparameters['pad'] must be an integer, a pair, a pair of pairs, 'same' or 'valid', got 1.5 (float)"),
    ("conv-same-strided", conv(pad="same", stride=(1, 2)), "hparameters['pad']='same' needs stride 1 (as torch), got hparameters['stride']=(1, 2)"),
    ("conv-pad-triple", conv(pad=(0, 0, 0)),
     "hparameters['pad'] must be an integer, a pair (ph, pw) or a pair of pairs ((top, bottom), (left, right)), got (0, 0, 0) (tuple)"),
    ("conv-pad-short-side", conv(pad=((1,), (1, 1))), "hparameters['pad'][0] must be an integer or a pair (before, after), got (1,) (tuple)"),
    ("conv-pad-negative", conv(pad=-1), "hparameters['pad'] must be >= 0, got -1"),
    ("conv-pad-pair-negative", conv(pad=(0, -2)), "hparameters['pad'][1] must be >= 0, got -2"),
    ("conv-pad-top-negative", conv(pad=((-1, 0), (0, 0))), "hparameters['pad'][0][0] must be >= 0, got -1"),
    ("conv-pad-right-negative", conv(pad=((0, 0), (1, -1))), "hparameters['pad'][1][1] must be >= 0, got -1"),
    # conv_forward: channels and groups
    ("conv-channels", lambda ref: ref.conv_forward(A, zeros(3, 3, 3, 4), b, CONV),
     "W.shape[2] (input channels) must equal A_prev.shape[3]=2, got W of shape (3, 3, 3, 4)"),
    ("conv-groups-output", lambda ref: ref.conv_forward(A4, zeros(3, 3, 2, 3), None, {**CONV, "groups": 2}),
     "hparameters['groups']=2 must divide W.shape[3] (output channels), got W of shape (3, 3, 2, 3)"),
    ("conv-groups-input", lambda ref: ref.conv_forward(A, zeros(3, 3, 1, 3), None, {**CONV, "groups": 3}),
     "hparameters['groups']=3 must divide A_prev.shape[3] (input channels), got A_prev of shape (1, 4, 4, 2)"),
    ("conv-groups-channels", lambda ref: ref.conv_forward(A4, zeros(3, 3, 1, 4), None, {**CONV, "groups": 2}),
     "W.shape[2] (input channels per group) must equal A_prev.shape[3] / groups = 4 / 2, got W of shape (3, 3, 1, 4)"),
    # conv_forward: the kernel does not fit
    ("conv-kernel-tall", lambda ref: ref.conv_forward(A, zeros(5, 3, 2, 4), b, CONV),
     "W.shape[0]=5 is larger than the padded input height 4 (height=4 + padding 0+0)"),
    ("conv-kernel-tall-padded", lambda ref: ref.conv_forward(A, zeros(6, 3, 2, 4), b, {**CONV, "pad": ((1, 0), (0, 0))}),
     "W.shape[0]=6 is larger than the padded input height 5 (height=4 + padding 1+0)"),
    ("conv-kernel-dilated", conv(dilation=(1, 2)),
     "W.shape[1]=3 with dilation 2 (extent 5) is larger than the padded input width 4 (width=4 + padding 0+0)"),
    # conv_backward
    ("conv-cache-None", lambda ref: ref.conv_backward(dZ, None), "cache must be a tuple of 4 items, got None (NoneType)"),
    ("dZ-float", lambda ref: ref.conv_backward(1.0, (A, W, b, CONV)), "dZ must be a numpy.ndarray, got 1.0 (float)"),
    ("dZ-shape", lambda ref: ref.conv_backward(zeros(1, 2, 2, 3), (A, W, b, CONV)), "dZ must have shape (1, 2, 2, 4), got shape (1, 2, 2, 3)"),
    # pool_forward: the array, the mode
    ("pool-A_prev-rank", lambda ref: ref.pool_forward(zeros(4, 4, 2), POOL, "max"), "A_prev must have 4 dimensions, got shape (4, 4, 2)"),
    ("pool-A_prev-empty", lambda ref: ref.pool_forward(zeros(1, 4, 0, 2), POOL, "max"), "A_prev must have no empty dimension, got shape (1, 4, 0, 2)"),
    ("pool-mode", pool(mode="avg"), "mode must be one of ('max', 'average'), got 'avg' (str)"),
    # pool_forward: hparameters
    ("pool-missing", lambda ref: ref.pool_forward(A, {"f": 2}, "max"), "hparameters is missing key(s) ['stride']; got keys ['f']"),
    ("pool-unknown", pool(mode="max", padding=0),
     "hparameters has unknown key(s) ['padding']; allowed keys are "
     "['f', 'stride', 'pad', 'dilation', 'ceil_mode', 'count_include_pad', 'divisor_override']"),
    ("pool-f-zero", pool(f=0), "hparameters['f'] must be >= 1, got 0"),
    ("pool-f-triple", pool(f=(2, 2, 2)), "hparameters['f'] must be an integer or a pair of integers (height, width), got (2, 2, 2) (tuple)"),
    ("pool-stride-pair-zero", pool(stride=(0, 1)), "hparameters['stride'][0] must be >= 1, got 0"),
    ("pool-pad-negative", pool(pad=-1), "hparameters['pad'] must be >= 0, got -1"),
    ("pool-dilation-pair-zero", pool(dilation=(1, 0)), "hparameters['dilation'][1] must be >= 1, got 0"),
    ("pool-ceil_mode-int", pool(ceil_mode=1), "hparameters['ceil_mode'] must be a bool, got 1 (int)"),
    ("pool-count_include_pad-str", pool(mode="average", count_include_pad="yes"), "hparameters['count_include_pad'] must be a bool, got 'yes' (str)"),
    ("pool-divisor-float", pool(mode="average", divisor_override=2.0), "hparameters['divisor_override'] must be a nonzero integer or None, got 2.0 (float)"),
    ("pool-divisor-zero", pool(mode="average", divisor_override=0), "hparameters['divisor_override'] must be a nonzero integer or None, got 0 (int)"),
    # pool_forward: options of the other mode
    ("pool-dilation-average", pool(mode="average", dilation=(2, 1)),
     "hparameters['dilation'] must be 1 for average pooling (torch's avg_pool2d has none), got (2, 1)"),
    ("pool-count_include_pad-max", pool(count_include_pad=False), "hparameters['count_include_pad'] applies to average pooling only, got False with mode 'max'"),
    ("pool-divisor-max", pool(divisor_override=3), "hparameters['divisor_override'] applies to average pooling only, got 3 with mode 'max'"),
    # pool_forward: padding over half the window, the window does not fit
    ("pool-pad-over-half", pool(f=4, stride=1, pad=3),
     "hparameters['pad']=3 must be at most half the window size hparameters['f']=4 along the height (4 // 2 = 2)"),
    ("pool-pad-over-half-width", pool(f=(2, 3), stride=1, pad=(1, 2)),
     "hparameters['pad']=(1, 2) must be at most half the window size hparameters['f']=(2, 3) along the width (3 // 2 = 1)"),
    ("pool-window-tall", pool(f=5, stride=1), "hparameters['f']=5 is larger than the padded input height 4 (height=4 + padding 0+0)"),
    ("pool-window-wide", pool(f=(2, 5), stride=1), "hparameters['f'][1]=5 is larger than the padded input width 4 (width=4 + padding 0+0)"),
    ("pool-window-padded", pool(f=(7, 2), stride=1, pad=(1, 0)),
     "hparameters['f'][0]=7 is larger than the padded input height 6 (height=4 + padding 1+1)"),
    ("pool-window-dilated", pool(f=2, stride=1, dilation=4),
     "hparameters['f']=2 with dilation 4 (extent 5) is larger than the padded input height 4 (height=4 + padding 0+0)"),
    # with ceil_mode the last window may start up to stride - 1 past the end: stride 1 adds nothing
    ("pool-window-ceil-strided", pool(f=6, stride=2, ceil_mode=True),
     "hparameters['f']=6 is larger than the padded input height 4 (height=4 + padding 0+0), by 2 or more with ceil_mode and stride 2"),
    ("pool-window-ceil-stride-1", pool(f=5, stride=1, ceil_mode=True),
     "hparameters['f']=5 is larger than the padded input height 4 (height=4 + padding 0+0)"),
    # pool_backward
    ("pool-cache-None", lambda ref: ref.pool_backward(dA, None, "max"), "cache must be a tuple of 2 items, got None (NoneType)"),
    ("dA-dtype", lambda ref: ref.pool_backward(dA.astype(np.int64), (A, POOL), "max"), "dA must have dtype float32 or float64, got dtype int64"),
    ("dA-shape", lambda ref: ref.pool_backward(zeros(1, 2, 2, 3), (A, POOL), "max"), "dA must have shape (1, 2, 2, 2), got shape (1, 2, 2, 3)"),
    # create_mask_from_window
    ("x-rank", lambda ref: ref.create_mask_from_window(zeros(3)), "x must have 2 dimensions, got shape (3,)"),
    ("x-empty", lambda ref: ref.create_mask_from_window(zeros(0, 2)), "x must not be empty, got shape (0, 2)"),
    # distribute_value
    ("dz-complex", lambda ref: ref.distribute_value(1j, (2, 2)), "dz must be a real number, got 1j (complex)"),
    ("shape-int", lambda ref: ref.distribute_value(1.0, 2), "shape must be a pair of positive sizes (n_H, n_W), got 2 (int)"),
    ("shape-zero", lambda ref: ref.distribute_value(1.0, (0, 2)), "shape[0] must be >= 1, got 0"),
    ("shape-float", lambda ref: ref.distribute_value(1.0, (2, 2.0)), "shape[1] must be an integer, got 2.0 (float)"),
]


@pytest.mark.parametrize("ref", IMPLS)
@pytest.mark.parametrize("invalid_call, message", [pytest.param(c, m, id=i) for i, c, m in MESSAGES])
def test_rejection_message_verbatim(ref, invalid_call, message):
    with pytest.raises(ValueError) as excinfo:
        invalid_call(ref)
    assert str(excinfo.value) == message


def test_case_ids_are_unique():
    ids = [case_id for case_id, _, _ in MESSAGES]
    assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)
