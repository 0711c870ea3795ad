"""The text CNN splits the gradient of its concatenated features in reversed branch order.

Every layer function is the reference one, and so is the forward pass: the forward concatenates
the branches' features branch 0 first, while the backward reads branch 0's gradient from the
last columns (the order swapped between forward and backward). Logits and loss are right; with
one branch, or with branches that see the same gradient, so are the gradients. A defect of
composition, not of any layer: only the text CNN properties can see it.
"""
from convcheck.reference.loops import *  # noqa: F401,F403
from convcheck.text_cnn import TextCNN as _TextCNN

DEFECT = "text CNN backward: the concatenation's gradient is split in reversed branch order (forward concatenates branch 0 first)"
BREAKS = ()  # no seed function is wrong: the composition is
FINDING = ('TextCNN.loss_and_gradients', 'values', 'text_cnn_gradients_match_torch')  # (function, kind, rule): the defect as the findings summary names it
API = "full"  # the text CNN needs rectangular kernels and (time x 1) pooling windows


class TextCNN(_TextCNN):
    def split(self, d_features, widths):
        reversed_parts = super().split(d_features, widths[::-1])  # BUG: should be split(d_features, widths)
        return reversed_parts[::-1]
