"""Graph questions the rules share, on hand-built networks."""

from __future__ import annotations

import pytest

from cnnlint import catalogue, graph, ir


def _network(*nodes: tuple[str, tuple[int, ...]]) -> ir.Network:
    return ir.Network(nodes=[ir.Node(id=i, kind=kind, inputs=inputs, name=f"n{i}")
                             for i, (kind, inputs) in enumerate(nodes)])


def _ids(found: list[ir.Node]) -> list[int]:
    return [n.id for n in found]


def test_longest_run_restarts_at_a_reset_and_keeps_the_first_longest() -> None:
    network = _network(
        (ir.INPUT, ()),
        ("Conv2d", (0,)),
        ("ReLU", (1,)),  # passed through, not counted
        ("Conv2d", (2,)),
        ("Conv2d", (0,)),  # a parallel branch of one layer
        (ir.ADD, (3, 4)),  # resets
        ("Conv2d", (5,)),
        ("Linear", (6,)),  # as long as the first run, found later
    )
    run = graph.longest_run(network, counts=lambda n: n.weighted,
                            resets=lambda n: n.kind in (ir.INPUT, ir.ADD))
    assert _ids(run) == [1, 3]


def test_a_run_follows_its_longest_input_and_the_first_of_equals() -> None:
    network = _network(
        (ir.INPUT, ()),
        ("Conv2d", (0,)),
        ("Conv2d", (1,)),
        ("Conv2d", (0,)),
        ("Conv2d", (0,)),
        (ir.CAT, (3, 2, 4)),  # the two-layer branch is longer: the run goes through it
        ("Conv2d", (5,)),
        (ir.CAT, (3, 4)),  # equals: the first input's
        ("Conv2d", (7,)),
    )
    counts = lambda n: n.weighted  # noqa: E731
    resets = lambda n: n.kind == ir.INPUT  # noqa: E731
    assert _ids(graph.longest_run(network, counts, resets)) == [1, 2, 6]
    runs = graph.Runs(len(network.nodes))
    for node in network.nodes:
        if not resets(node):
            runs.extend(node.id, runs.pick(node.inputs), counts(node))
    assert runs.pick((3, 4)) == 3
    assert runs.pick((2, 3), shortest=True) == 3
    assert runs.pick(()) == -1
    assert _ids(runs.longest(network)) == [1, 2, 6]


def test_a_chain_thousands_deep_is_one_run() -> None:
    depth = 5000
    network = _network((ir.INPUT, ()), *[("Conv2d", (i,)) for i in range(depth)])
    run = graph.longest_run(network, counts=lambda n: n.weighted,
                            resets=lambda n: n.kind == ir.INPUT)
    assert _ids(run) == list(range(1, depth + 1))


def test_node_families_are_read_once_and_kept() -> None:
    node = ir.Node(id=0, kind="BatchNorm2d", inputs=(), name="bn")
    assert (node.family, node.is_norm, node.weighted) == ("batchnorm", True, False)
    assert node.__dict__["family"] == "batchnorm"  # stored: the next read is a plain lookup


def test_consumers_are_listed_by_node_id() -> None:
    network = _network((ir.INPUT, ()), ("Conv2d", (0,)), ("ReLU", (1,)), (ir.ADD, (1, 2)))
    assert network.consumers() == [[1], [2, 3], [3], []]


@pytest.mark.parametrize(("name", "dims", "moves"), [
    ("permute", [0, 2, 3, 1], True), ("permute", [(0, 2, 3, 1)], True),
    ("permute", [0, 1, 3, 2], False), ("permute", [0, -3, 3, 2], False),
    ("transpose", [2, 3], False), ("transpose", [1, 2], True), ("transpose", [-1, -2], True),
    ("swapaxes", [3, 2], False), ("movedim", [2, 3], False), ("movedim", [0, 2], True),
    ("movedim", [1, 1], False), ("t", [], True), ("transpose", ["dim"], True),
])
def test_which_axis_reorders_move_the_channels(name: str, dims: list, moves: bool) -> None:
    assert catalogue.moves_channel_axis(name, dims) is moves


@pytest.mark.parametrize(("name", "pos", "keywords", "kind"), [
    ("clamp", [0, 6], {}, "ReLU6"), ("torch.clamp", [0.0, 6.0], {}, "ReLU6"),
    ("clamp", [], {"min": 0}, "ReLU"), ("clamp_min", [0], {}, "ReLU"),
    ("torch.nn.functional.hardtanh", [0, 6], {}, "ReLU6"),
    ("torch.nn.functional.hardtanh", [], {}, None), ("hardtanh", [0.0], {}, None),
    ("clamp", [0, 1], {}, None), ("clamp", [], {"max": 6}, None), ("clamp", [True, 6], {}, None),
    ("clamp", [0, "six"], {}, None), ("numpy.clip", [0, 6], {}, None),
])
def test_which_clamps_are_rectifiers(name: str, pos: list, keywords: dict,
                                     kind: str | None) -> None:
    assert catalogue.clamp_kind(name, pos, keywords) == kind


def test_alternatives_are_the_nodes_on_one_side_of_an_undecided_if() -> None:
    # input -> conv; then either relu or (relu2 -> add); merged; then a final relu.
    network = _network(("input", ()), ("Conv2d", (0,)), ("ReLU", (1,)), ("ReLU", (1,)),
                       ("add", (3, 1)), ("merge", (2, 4)), ("ReLU", (5,)))
    found = graph.alternatives(network)
    assert [i for i in range(7) if found >> i & 1] == [2, 3, 4]
    assert graph.alternatives(_network(("input", ()), ("ReLU", (0,)))) == 0


def test_a_projected_low_level_feature_concatenated_past_a_deep_path_is_a_skip() -> None:
    # DeepLabV3+: low-level features (node 1) go through eight convs (2-9) and, projected by
    # one 1x1 conv (10), join them again: the concatenation goes around the eight.
    deep = [("input", ()), ("Conv2d", (0,))]
    deep += [("Conv2d", (i,)) for i in range(1, 9)]
    deep += [("Conv2d", (1,)), ("cat", (9, 10))]
    network = _network(*deep)
    masks = graph.ancestors(network)
    assert graph.is_skip(network.nodes[-1], masks, network)
    assert graph.longest_plain_run(network) != [] and len(graph.longest_plain_run(network)) < 8
    # The projection's activation written as a gate (Mish as `x * tanh(softplus(x))`: node
    # 13 is the product of the conv 10 and its own tanh 12): still one layer from node 1.
    gated = deep[:-1] + [("Softplus", (10,)), ("Tanh", (11,)), ("mul", (10, 12)),
                         ("cat", (9, 13))]
    network = _network(*gated)
    assert graph.is_skip(network.nodes[-1], graph.ancestors(network), network)
    # An Inception block: a 1x1 branch beside a 1x1-then-3x3 branch is not a skip.
    block = _network(("input", ()), ("Conv2d", (0,)), ("Conv2d", (0,)), ("Conv2d", (2,)),
                     ("cat", (1, 3)))
    assert not graph.is_skip(block.nodes[-1], graph.ancestors(block), block)


def test_a_pooled_branch_beside_convolutions_is_no_skip() -> None:
    # An Inception reduction block: three convs (2-4) on one side, the block's input only
    # max-pooled (5) on the other. Parallel branches of one block: no skip (the pool is one
    # of them), while the same input only dropped out is carried past the convs.
    block = _network(("input", ()), ("Conv2d", (0,)), ("Conv2d", (1,)), ("Conv2d", (2,)),
                     ("Conv2d", (3,)), ("MaxPool2d", (1,)), ("cat", (4, 5)))
    assert not graph.is_skip(block.nodes[-1], graph.ancestors(block), block)
    dropped = _network(("input", ()), ("Conv2d", (0,)), ("Conv2d", (1,)), ("Conv2d", (2,)),
                       ("Conv2d", (3,)), ("Dropout", (1,)), ("cat", (4, 5)))
    assert graph.is_skip(dropped.nodes[-1], graph.ancestors(dropped), dropped)
    assert _ids(graph.longest_plain_run(dropped)) == [1]


def test_encoder_features_dropped_out_for_a_second_decoder_are_still_skipped() -> None:
    # An encoder (convs 1-3) read by two decoders: the first concatenates feature 1 with
    # the upsampled deep path (node 5), the second the same feature through dropout (6)
    # with its own copy of the deep path (7). Every way forward from convs 2-3 goes round
    # them by one decoder's concatenation or the other's: they are spanned.
    network = _network(("input", ()), ("Conv2d", (0,)), ("Conv2d", (1,)), ("Conv2d", (2,)),
                       ("Upsample", (3,)), ("cat", (1, 4)), ("Dropout", (1,)),
                       ("Dropout", (3,)), ("cat", (6, 7)), ("Conv2d", (5,)), ("Conv2d", (8,)))
    span = graph.spanned(network)
    assert [i for i in (2, 3) if span >> i & 1] == [2, 3]


def test_two_encoders_features_joined_then_carried_to_the_decoder_are_a_skip() -> None:
    # Two encoders (convs 1-2 and 3-4) whose first features (1 and 3) are joined (9) and
    # then concatenated with the decoder's path (8: up from the deep convs 2, 4, 5-7): the
    # joined features carry 1 and 3 past the deep path. Parallel branches joined and then
    # joined again with a third branch are still no skip.
    network = _network(("input", ()), ("Conv2d", (0,)), ("Conv2d", (1,)), ("Conv2d", (0,)),
                       ("Conv2d", (3,)), ("cat", (2, 4)), ("Conv2d", (5,)), ("Conv2d", (6,)),
                       ("Upsample", (7,)), ("cat", (1, 3)), ("cat", (9, 8)), ("Conv2d", (10,)))
    masks = graph.ancestors(network)
    assert graph.is_skip(network.nodes[10], masks, network)
    span = graph.spanned(network)
    assert [i for i in (2, 4, 6, 7) if span >> i & 1] == [2, 4, 6, 7]
    parallel = _network(("input", ()), ("Conv2d", (0,)), ("Conv2d", (0,)), ("cat", (1, 2)),
                        ("Conv2d", (0,)), ("Conv2d", (4,)), ("cat", (3, 5)))
    assert not graph.is_skip(parallel.nodes[-1], graph.ancestors(parallel), parallel)


def test_the_difference_of_two_encodings_carried_to_the_decoder_is_a_skip() -> None:
    # A change detector: one encoder applied to two images (convs 2-3 and 4-5), the deep
    # path from the second (convs 6-7, up 8), and the decoder joins it with the difference
    # of the two encodings (9, read as a sum; `abs` keeps it): that difference carries 5
    # past the deep path. Two parallel convs summed and joined with a third branch are
    # still no skip.
    network = _network(("input", ()), ("input", ()), ("Conv2d", (0,)), ("Conv2d", (2,)),
                       ("Conv2d", (1,)), ("Conv2d", (4,)), ("Conv2d", (5,)), ("Conv2d", (6,)),
                       ("Upsample", (7,)), ("add", (3, 5)), ("cat", (8, 9)), ("Conv2d", (10,)))
    assert graph.is_skip(network.nodes[10], graph.ancestors(network), network)
    span = graph.spanned(network)
    assert [i for i in (6, 7) if span >> i & 1] == [6, 7]
    summed = _network(("input", ()), ("Conv2d", (0,)), ("Conv2d", (0,)), ("add", (1, 2)),
                      ("Conv2d", (0,)), ("Conv2d", (4,)), ("cat", (3, 5)))
    assert not graph.is_skip(summed.nodes[-1], graph.ancestors(summed), summed)
