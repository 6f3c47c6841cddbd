"""Questions rules ask of a network graph, answered once here for every front end.

*Skip connections.* An addition, or a concatenation that includes one of its own inputs'
ancestors (DenseNet's `cat([x, f(x)])`), gives the gradient a path around the layers on its
other inputs: those layers are *spanned*, provided every way forward from them passes through
that skip (a layer whose output also leaves by another path is still in series on that path).
A concatenation of parallel branches only (Inception) spans nothing: every branch is still a
full-depth path, also a branch that only pools the block's input (an Inception reduction
block's max-pool); one that only drops it out is that input carried past the others (a second
decoder fed dropped-out encoder features). An encoder tensor that reaches the concatenation
through a gate (an attention U-Net's `x4 * psi(d5, x4)`) still bypasses the decoder: ancestry
through a gate follows the gated data. A product is a gate or a normalisation (`x * se(x)`,
`x / norm(x)`), not a skip, and a MERGE (the value after an `if` the reader could not decide)
is a choice between paths, each judged on its own.

*Plain runs.* Walking the graph in execution order, a run counts the weighted layers (conv,
linear) that no skip spans; a skip connection ends the run. Through a gate the run follows the
gated data, not the gate's own branch. The longest run is what `deep-plain-stack` reports.
"""

from __future__ import annotations

from typing import Callable, Iterable

from cnnlint import catalogue, ir


# Bitmask ancestry costs N^2/8 bytes; networks past this size are not judged as a whole.
MAX_NODES = 20_000


def weighted_layers(network: ir.Network) -> list[ir.Node]:
    """The weighted layers, each once: a module applied at several places (one conv run three
    times by a recurrent block) is one layer, with one set of weights. Each functional call
    counts on its own (which weights it is given is not read)."""
    seen: set[str] = set()
    found = []
    for node in network.nodes:
        if not node.weighted:
            continue
        if not node.functional and node.name:
            if node.name in seen:
                continue
            seen.add(node.name)
        found.append(node)
    return found


def first_of_each(network: ir.Network) -> list[int]:
    """For each node, the first node that computes the same thing: the same layer (or call)
    applied to what the same earlier nodes compute, from any input. A block run on two
    inputs (a siamese pair, a domain-adaptation model's source and target) computes each of
    its nodes twice: each is one place of the network, counted once."""
    found = network.cache.get("first_of_each")
    if found is None:
        firsts: dict[tuple[object, ...], int] = {}
        first: list[int] = []
        for node in network.nodes:
            key: tuple[object, ...] = (ir.INPUT,) if node.kind == ir.INPUT else (
                node.kind, node.name, node.loc, node.within, node.functional,
                tuple(first[i] for i in node.inputs))
            first.append(firsts.setdefault(key, node.id))
        found = network.cache["first_of_each"] = first
    return found  # type: ignore[return-value]


def ancestors(network: ir.Network) -> list[int]:
    """For each node, a bitmask of every node upstream of it (itself excluded)."""
    found = network.cache.get("ancestors")
    if found is not None:
        return found  # type: ignore[return-value]
    masks = [0] * len(network.nodes)
    for node in network.nodes:
        mask = 0
        for i in node.inputs:
            mask |= masks[i] | (1 << i)
        masks[node.id] = mask
    network.cache["ancestors"] = masks
    return masks


def data_ancestors(network: ir.Network) -> list[int]:
    """Like `ancestors`, but a gate's output descends from the data it gates only: in an
    attention U-Net, `x4 * psi(g=d5, x=x4)` carries x4 on, whatever computed the gate."""
    found = network.cache.get("data_ancestors")
    if found is not None:
        return found  # type: ignore[return-value]
    masks = [0] * len(network.nodes)
    for node, inputs in zip(network.nodes, data_inputs(network)):
        mask = 0
        for i in inputs:
            mask |= masks[i] | (1 << i)
        masks[node.id] = mask
    network.cache["data_ancestors"] = masks
    return masks


# Nodes whose data inputs may be fewer than their inputs (see `_data_inputs`).
_GATED_OR_STEERED = catalogue.DEFORMABLE | {ir.MUL}


def data_inputs(network: ir.Network) -> list[tuple[int, ...]]:
    """For each node, the inputs whose data it carries on (`_data_inputs` over the network's
    ancestry), found once: the runs and the gated ancestry ask of every node."""
    found = network.cache.get("data_inputs")
    if found is None:
        masks = ancestors(network)
        found = network.cache["data_inputs"] = [
            node.inputs if node.kind not in _GATED_OR_STEERED and catalogue.STEERED_BY not in
            node.args else _data_inputs(node, masks) for node in network.nodes]
    return found  # type: ignore[return-value]


def branch_sides(network: ir.Network, built: bool = False) -> list[list[int]]:
    """For each MERGE (the value after an `if` the reader could not decide), a bitmask per
    input of the nodes upstream of that input and not of every input: one side of the `if`.
    With `built`, only the merges of a choice of modules (one option is built: an `if` in a
    forward runs one side, but both sides' layers exist). Past MAX_NODES: one side holding
    every node."""
    merges = [node for node in network.nodes if node.kind == ir.MERGE and len(node.inputs) > 1
              and (not built or node.name == ir.CHOICE)]
    if not merges:
        return []
    if len(network.nodes) > MAX_NODES:
        return [[(1 << len(network.nodes)) - 1]]
    masks = ancestors(network)
    out = []
    for node in merges:
        sides = [masks[i] | (1 << i) for i in node.inputs]
        common = sides[0]
        for side in sides[1:]:
            common &= side
        out.append([side & ~common for side in sides])
    return out


def alternatives(network: ir.Network, built: bool = False) -> int:
    """A bitmask of the nodes on one side only of an `if` the reader could not decide. A
    forward runs one side, so counts that add both are not what runs. With `built`: of a
    choice of modules only (see `branch_sides`)."""
    found = 0
    for sides in branch_sides(network, built):
        for side in sides:
            found |= side
    return found


def hangs_on_branch(network: ir.Network, run: list[ir.Node],
                    deciding: Callable[[ir.Node], bool]) -> bool:
    """Whether a claim about `run` rests on an `if` the reader could not decide: the run
    takes one side of it, or a node that would change the claim (`deciding`: a skip, a norm)
    lies on one side, and that side may be the one that runs."""
    either = alternatives(network)
    return bool(either) and (any(either >> node.id & 1 for node in run) or any(
        either >> node.id & 1 and deciding(node) for node in network))


def is_skip(node: ir.Node, masks: list[int], network: ir.Network | None = None) -> bool:
    """An addition of two different tensors, or a concatenation where one input carries an
    earlier tensor past the layers on another (given the `network`, also through a gate on
    that tensor)."""
    if node.kind != ir.ADD and node.kind != ir.CAT or len(set(node.inputs)) < 2:
        return False
    if node.kind == ir.ADD:
        return True
    if node.kind == ir.CAT:
        # A bypass: one input is upstream of another (DenseNet), not parallel branches.
        if any(masks[b] >> a & 1 for a in node.inputs for b in node.inputs if a != b):
            return True
        if network is None:
            return False
        data = data_ancestors(network)
        if any(data[b] >> _gated_source(network, a, masks) & 1
               for a in node.inputs for b in node.inputs if a != b):
            return True
        return _carried_bypass(network, node, masks) or _projected_bypass(network, node, masks)
    return False


# Layers that pass a tensor on unchanged but for noise: a skip may go through them. (Not
# pooling: an Inception block's pooled branch is one of its parallel branches.)
_CARRY_FAMILIES = frozenset({"dropout", "identity"})


def _carried_bypass(network: ir.Network, node: ir.Node, masks: list[int]) -> bool:
    """`cat([dropout(f), up(g(f))])` (a second decoder fed noisy encoder features), or
    `cat([cat([f_a, f_b]), up(g(f_a, f_b))])` (two encoders' features joined, then carried
    to the decoder), or `cat([up(g(f_b)), abs(f_a - f_b)])` (a change detector's difference
    of two encodings): an input that is earlier tensors only dropped out, joined or summed,
    no weighted layer on its way, carries them past the layers of another input."""
    for a in node.inputs:
        for i in _carry_sources(network, a):
            if i != a and any(b != a and masks[b] >> i & 1 for b in node.inputs):
                return True
    return False


MAX_CARRY_SOURCES = 16  # joined tensors looked through (a DenseNet's concatenations nest)


def _carry_sources(network: ir.Network, i: int) -> list[int]:
    """The tensors `i` carries unchanged but for noise, joining or summing: itself, and
    through dropout (or identity) layers, concatenations and additions (a difference is
    one), the tensors they start from."""
    found, stack = [i], [i]
    while stack and len(found) < MAX_CARRY_SOURCES:
        node = network.nodes[stack.pop()]
        if node.family in _CARRY_FAMILIES and len(node.inputs) == 1 or node.kind == ir.CAT \
                or node.kind == ir.ADD:
            for j in node.inputs:
                if j not in found:
                    found.append(j)
                    stack.append(j)
    return found


# How many weighted layers a projected input of a concatenation must go around to count as
# a skip: more than any branch of an Inception or ASPP block has.
PROJECTED_SKIP_SPAN = 6


def _projected_bypass(network: ir.Network, node: ir.Node, masks: list[int]) -> bool:
    """`cat([decoder(x), project(low)])`: an input that is at most one weighted layer (a
    1x1 projection, with its norm and activation) from a tensor upstream of another input,
    which reaches the concatenation through PROJECTED_SKIP_SPAN weighted layers or more
    (DeepLabV3+'s decoder). Parallel branches of one block (Inception, ASPP) are shallower.
    The layers counted are on the gated data's way: a gate's own branch (an attention gate
    between two Inception blocks) is not what the projected input goes around."""
    carried = data_ancestors(network)
    weighted = network.cache.get("weighted_mask")
    if not isinstance(weighted, int):
        weighted = network.cache["weighted_mask"] = sum(
            1 << n.id for n in network.nodes if n.weighted)
    for a in node.inputs:
        i, passed = a, 0
        while True:
            current = network.nodes[i]
            passed += current.weighted
            # Through an activation written as a gate (`x * tanh(softplus(x))`, Mish), to
            # the data it gates.
            data = _data_inputs(current, masks)
            if passed > 1 or len(data) != 1:
                break
            i = data[0]
            for b in node.inputs:
                if b != a and carried[b] >> i & 1 and (
                        carried[b] & ~carried[i] & weighted).bit_count() >= PROJECTED_SKIP_SPAN:
                    return True
    return False


def _gated_source(network: ir.Network, i: int, masks: list[int]) -> int:
    """The tensor a chain of gates ends at: x for `x * a(x) * b(x)` (itself if no gate)."""
    while network.nodes[i].kind == ir.MUL:
        data = _data_inputs(network.nodes[i], masks)
        if len(data) != 1:
            break
        i = data[0]
    return i


def skip_ids(network: ir.Network) -> frozenset[int]:
    """The ids of the network's skip connections (`is_skip` given the network), found once."""
    found = network.cache.get("skips")
    if found is None:
        masks = ancestors(network)
        found = network.cache["skips"] = frozenset(
            node.id for node in network.nodes if is_skip(node, masks, network))
    return found  # type: ignore[return-value]


def spanned(network: ir.Network, masks: list[int] | None = None, among: int = -1) -> int:
    """Bitmask of nodes that some skip connection goes around, on every way forward; with
    `among` (a bitmask), only those of its nodes."""
    masks = masks if masks is not None else ancestors(network)
    ids = skip_ids(network)
    skips = [node for node in network.nodes if node.id in ids]
    if not skips:
        return 0
    data = data_ancestors(network)
    # Skips that carry the same tensor past the layers count as one: a U-Net encoder read
    # by two decoders (or by heads at several depths, UNet++) is gone around on every way
    # forward, by one decoder's concatenation or the other's.
    groups: dict[object, int] = {}
    bits = {node.id: groups.setdefault(_carried(network, node, masks), 1 << len(groups))
            for node in skips}
    through = _passes_through(network, bits, masks)
    found = 0
    for node in skips:
        bit = bits[node.id]
        # Around it on the full graph (a gate's branch inside a residual block) and on the
        # gated data (the decoder an attention gate's skip goes past). Nodes found already
        # are not looked at again: where skips nest or share a long-lived branch (a state
        # carried through a whole stage), their spans overlap, and reading each span whole
        # would cost the nodes times the skips.
        unseen = (around(node, masks) | around(node, data)) & among & ~found
        if unseen:
            found |= mask_of(i for i in set_bits(unseen) if through[i] & bit)
    return found


def _carried(network: ir.Network, skip: ir.Node, masks: list[int]) -> object:
    """What a skip carries past the layers: its inputs upstream of another of its inputs
    (`x` in `x + f(x)`), also through dropout (`x` in `cat([dropout(x),
    f(x)])`); the skip itself when none is (a projected or gated bypass)."""
    early = set()
    for a in skip.inputs:
        for source in _carry_sources(network, a):
            if any(masks[b] >> source & 1 for b in skip.inputs if b != a):
                early.add(source)
                break
    return frozenset(early) or skip.id


def set_bits(mask: int) -> list[int]:
    """The positions of a bitmask's set bits. Found in its binary text: peeling the lowest
    bit off a mask of N bits costs N/64 word operations each time, quadratic over a deep
    network's masks. The text starts at the lowest set bit: a block's mask deep in a large
    network would otherwise be written out with every zero below it."""
    if not mask:
        return []
    low = (mask & -mask).bit_length() - 1
    text = bin(mask >> low)
    top = len(text) - 1 + low
    out = []
    j = text.find("1", 2)
    while j != -1:
        out.append(top - j)
        j = text.find("1", j + 1)
    return out


def mask_of(positions: Iterable[int]) -> int:
    """The bitmask with these bits set (the inverse of `set_bits`), built in one pass."""
    ids = set(positions)
    if not ids:
        return 0
    digits = bytearray(b"0" * (max(ids) + 1))
    for i in ids:
        digits[-1 - i] = ord("1")
    return int(digits, 2)


def _passes_through(network: ir.Network, marks: dict[int, int], masks: list[int]) -> list[int]:
    """For each node, the marks (bits of `marks`' nodes) that every way forward from it to
    an output meets, or that are upstream of the output it ends at: a way round a skip
    that joins the skip's output again before the end (deep supervision's head on a
    decoder stage, concatenated with the last one's) shortens the gradient's path, it does
    not take away the skip's. A node nothing live reads meets none."""
    users, reaches = network.consumers(), live(network)
    dropped = not all(reaches)
    met = [0] * len(network.nodes)
    for node in reversed(network.nodes):
        following = users[node.id]
        if dropped:  # a way to a value the forward drops is not a way forward
            following = [u for u in following if reaches[u]]
        if not following:
            if reaches[node.id]:  # an output: the skips upstream of it
                upstream = masks[node.id]
                for skip, bit in marks.items():
                    if upstream >> skip & 1:
                        met[node.id] |= bit
            continue
        common = -1
        for u in following:
            common &= met[u] | marks.get(u, 0)
        met[node.id] = common
    return met


def around(node: ir.Node, masks: list[int]) -> int:
    """Bitmask of the nodes on some but not all of a node's input paths: what a skip
    connection goes around."""
    reach = [masks[i] | (1 << i) for i in node.inputs]
    union, common = 0, reach[0]
    for r in reach:
        union |= r
        common &= r
    return union & ~common


class Runs:
    """Runs of counted nodes ending at each node of a network, kept as links (the run's
    length, its last counted node, each counted node's predecessor): extending a run costs
    the same however long it is, where copying it would make a deep network quadratic."""

    def __init__(self, size: int) -> None:
        self.length = [0] * size  # counted nodes in the run ending at each node
        self.last = [-1] * size  # the run's last counted node (-1: an empty run)
        self.before = [-1] * size  # for a counted node: the counted node before it
        self.best = -1  # the node where the longest run so far ends

    def extend(self, node: int, base: int, counted: bool) -> None:
        """The run at `node`: the run at `base` (-1: none), plus `node` if it counts."""
        length, last = (self.length[base], self.last[base]) if base >= 0 else (0, -1)
        if counted:
            self.before[node] = last
            length, last = length + 1, node
        self.length[node], self.last[node] = length, last
        if self.best < 0 or length > self.length[self.best]:
            self.best = node

    def pick(self, inputs: Iterable[int], shortest: bool = False) -> int:
        """The first input whose run is the longest (or the shortest); -1 for no input."""
        chosen = -1
        for i in inputs:
            if chosen < 0 or (self.length[i] < self.length[chosen] if shortest
                              else self.length[i] > self.length[chosen]):
                chosen = i
        return chosen

    def longest(self, network: ir.Network) -> list[ir.Node]:
        ids: list[int] = []
        i = self.last[self.best] if self.best >= 0 else -1
        while i >= 0:
            ids.append(i)
            i = self.before[i]
        return [network.nodes[i] for i in reversed(ids)]


def longest_run(network: ir.Network, counts: Callable[[ir.Node], bool],
                resets: Callable[[ir.Node], bool], masks: list[int] | None = None,
                scales: Callable[[int], bool] | None = None) -> list[ir.Node]:
    """The longest path-ordered run of nodes for which `counts` holds, where a node for
    which `resets` holds starts the count again. Given the ancestry `masks`, a gate's run
    follows the gated data only; a product's inputs for which `scales` holds (factors that
    only scale the others) are not followed either, unless every input is one. A value the
    forward computes and drops (overwritten before it reaches an output) is on no run: no
    gradient reaches it from the loss."""
    runs = Runs(len(network.nodes))
    reaches = live(network)
    if masks is None:
        inputs_of = [node.inputs for node in network.nodes]
    elif masks is ancestors(network):  # (the callers' case: found once per network)
        inputs_of = data_inputs(network)
    else:
        inputs_of = [_data_inputs(node, masks) for node in network.nodes]
    for node in network.nodes:
        if resets(node) or not reaches[node.id]:
            continue
        inputs = inputs_of[node.id]
        if scales is not None and node.kind == ir.MUL:
            inputs = tuple(i for i in inputs if not scales(i)) or inputs
        runs.extend(node.id, runs.pick(inputs), counts(node))
    return runs.longest(network)


def longest_plain_run(network: ir.Network) -> list[ir.Node]:
    """The longest chain of weighted layers that no skip connection spans. The layers of a
    gate (a squeeze-excitation's FCs, whose output only scales the features it multiplies)
    are not on it: the gated data goes past them into the product."""
    masks = ancestors(network)
    around = spanned(network, masks, among=mask_of(n.id for n in network.nodes if n.weighted))
    skips = skip_ids(network)
    gating = gates_only(network)
    return longest_run(
        network,
        counts=lambda n: n.weighted and not (around >> n.id & 1) and n.id not in gating,
        resets=lambda n: n.kind == ir.INPUT or n.id in skips, masks=masks)


def gates_only(network: ir.Network) -> set[int]:
    """The nodes whose every way forward ends as a product's gate, not as its data (the
    layers computing a squeeze-excitation's or an attention's scale)."""
    users, carried = network.consumers(), data_inputs(network)
    found: set[int] = set()
    for node in reversed(network.nodes):
        following = users[node.id]
        if following and all(u in found or (network.nodes[u].kind == ir.MUL
                                            and node.id not in carried[u])
                             for u in following):
            found.add(node.id)
    return found


def features_in(node: ir.Node) -> tuple[int, ...]:
    """The inputs whose features a node computes on: all of them, but for a deformable
    convolution, whose offsets and mask only steer where it samples, and for a product or
    sum with another tensor's statistics (AdaIN's `x * style_std + style_mean`), which only
    scale or shift it."""
    if node.kind in catalogue.DEFORMABLE:
        return node.inputs[:1]
    steered = node.args.get(catalogue.STEERED_BY)
    if steered:
        return tuple(i for at, i in enumerate(node.inputs) if at not in steered)  # type: ignore[operator]
    return node.inputs


def _data_inputs(node: ir.Node, masks: list[int]) -> tuple[int, ...]:
    """The inputs a product passes on: in `x * gate(x)` the data `x`, whose own descendant
    the other factor is; for a product of parallel branches (attention), all of them. A
    deformable convolution passes on its features, not the offsets that steer it."""
    if node.kind != ir.MUL or catalogue.STEERED_BY in node.args:
        return features_in(node)
    if len(node.inputs) < 2:
        return node.inputs
    data = tuple(a for a in node.inputs
                 if any(b != a and masks[b] >> a & 1 for b in node.inputs))
    return data or node.inputs


def live(network: ir.Network) -> list[bool]:
    """For each node, whether its value reaches an output of the forward. A value computed
    and then dropped (a block's extra result the caller never uses) reaches none; with the
    outputs not known, every node counts as live."""
    found = network.cache.get("live")
    if found is None:
        if not network.outputs:
            found = [True] * len(network.nodes)
        else:
            found = [False] * len(network.nodes)
            for i in network.outputs:
                found[i] = True
            for node in reversed(network.nodes):
                if found[node.id]:
                    for i in node.inputs:
                        found[i] = True
        network.cache["live"] = found
    return found  # type: ignore[return-value]


def is_gate(network: ir.Network, node: ir.Node) -> bool:
    """Whether the node's output only scales other tensors: every user is a product
    (swish's `x * sigmoid(x)`, a squeeze-and-excitation or attention scale), also once
    resized to the tensor it scales (an attention map upsampled first)."""
    return bool(_products_of(network, node))


def gates_its_input(network: ir.Network, node: ir.Node) -> bool:
    """A gate each of whose products scales a tensor the gate was computed from (swish's
    `x * sigmoid(x)`, hard swish's `x * relu6(x + 3) / 6`), not the product of two towers
    (`f(a) * g(b)`), whose last activations are the towers' own."""
    masks = ancestors(network)
    products = _products_of(network, node)
    return bool(products) and all(
        any(i != node.id and not masks[i] >> node.id & 1 and masks[node.id] >> i & 1
            for i in product.inputs)
        for product in products)


def _products_of(network: ir.Network, node: ir.Node) -> list[ir.Node]:
    """The products the node's output feeds when that is all it feeds (see `is_gate`);
    empty otherwise."""
    users, reaches = network.consumers(), live(network)
    ends = following(network, node, lambda n: n.family == "upsample"
                     and any(reaches[u] for u in users[n.id]))
    ends = [n for n in ends if reaches[n.id]]  # values the forward drops scale nothing
    return ends if ends and all(n.kind == ir.MUL for n in ends) else []


def steers_only(network: ir.Network, node: ir.Node) -> bool:
    """Whether the node's output only steers deformable convolutions or grid sampling: it
    reaches them as their offsets, mask or grid (after the features), through additions,
    concatenations, reshapes and resizes (a bounded `10 * tanh(o) + flow`). It sets where
    they sample, not what they compute."""
    users, reaches = network.consumers(), live(network)
    stack, seen, steered = [node.id], {node.id}, False
    while stack:
        i = stack.pop()
        for u in users[i]:
            if not reaches[u]:
                continue  # a value the forward drops
            user = network.nodes[u]
            if user.kind in catalogue.DEFORMABLE:
                if user.inputs[0] == i:
                    return False  # the features it convolves
                steered = True
            elif user.kind in (ir.ADD, ir.CAT) or user.family in ("upsample", "reshape"):
                if u not in seen:
                    seen.add(u)
                    stack.append(u)
            else:
                return False
    return steered


def following(network: ir.Network, node: ir.Node,
              passes: Callable[[ir.Node], bool]) -> list[ir.Node]:
    """The nodes reached from `node` by walking forward through nodes for which `passes`
    holds (normalisation, dropout, pooling, reshapes), not including those."""
    users = network.consumers()
    out: list[ir.Node] = []
    seen: set[int] = set()
    stack = list(users[node.id])
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        n = network.nodes[i]
        if passes(n):
            stack.extend(users[i])
        else:
            out.append(n)
    return sorted(out, key=lambda n: n.id)


def weighted_downstream(network: ir.Network) -> set[int]:
    """Ids of the nodes that have a weighted layer somewhere after them (one reverse pass)."""
    found = network.cache.get("weighted_downstream")
    if found is None:
        users = network.consumers()
        reach: set[int] = set()
        for node in reversed(network.nodes):
            if any(network.nodes[u].weighted or u in reach for u in users[node.id]):
                reach.add(node.id)
        found = network.cache["weighted_downstream"] = reach
    return found  # type: ignore[return-value]


def pair_names(network: ir.Network, pairs: list[tuple[ir.Node, ir.Node]]
               ) -> tuple[str, str, bool]:
    """How a message names the layer pairs one call builds (a conv and the norm it feeds):
    the first pair's names inside the deepest block of the project's classes that holds
    both (`branch2.0` and `branch2.1` in every Inception block, whichever model holds it,
    as the block's own code names them), and whether the call builds pairs named otherwise
    there (a loop's `features.0`, `features.3`)."""
    local = [_inside_block(network.blocks, first.name, second.name) for first, second in pairs]
    return local[0][0], local[0][1], len({first for first, _ in local}) > 1


def _inside_block(blocks: frozenset[str], first: str, second: str) -> tuple[str, str]:
    if not blocks or not first or not second:
        return first, second
    parts = first.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in blocks and second.startswith(prefix + "."):
            return first[len(prefix) + 1:], second[len(prefix) + 1:]
    return first, second
