"""Coefficient network + tiling: shapes, gradients, determinism, exact tiling invariance."""

import pytest
import torch

from gausspet_bids.model.network import GaussPET
from gausspet_bids.model.tiling import axis_bounds, run_tiled, tile_boxes


def smooth_inputs(shape=(32, 32, 32), m=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.avg_pool3d(torch.rand(1, m, *shape, generator=gen), 5, 1, 2) * 2
    zz, yy, xx = torch.meshgrid(*[torch.linspace(-1, 1, s) for s in shape], indexing="ij")
    mask = ((zz**2 + yy**2 + xx**2) < 0.8).float()[None, None]
    return x * mask, torch.ones(1, m, 1, 1, 1), mask


def small_model(seed=0, **kw):
    torch.manual_seed(seed)
    model = GaussPET(5, channels=8, depth=2, stride=4, **kw)
    with torch.no_grad():  # make coefficients vary in space so tiling errors would show
        model.net.head.weight.normal_(0, 0.3)
        if model.net.fine_channels:  # and the voxel-wise branch contribute
            model.net.fine_head.weight.normal_(0, 0.3)
        if model.net.template is not None:  # and the template map vary over the grid
            model.net.template.maps.normal_(0, 0.3)
        if model.net.context is not None:  # and the participant context's maps
            model.net.context.maps.normal_(0, 0.3)
    return model


def test_shapes_and_gradients():
    model = small_model(sweeps=2)
    x, p, mask = smooth_inputs()
    out = run_tiled(model, x, p, mask, n_tiles=1)
    assert out["pet"].shape == (1, 1, 32, 32, 32)
    assert (
        out["a"].shape
        == out["c"].shape
        == out["d"].shape
        == out["x_hat"].shape
        == (1, 5, 32, 32, 32)
    )
    assert out["b"].shape == out["reliability"].shape == (1, 1, 32, 32, 32)
    loss = (out["pet"] * mask).abs().mean()
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


@pytest.mark.parametrize(
    "n_tiles,psf_sigma,fine,position",
    [(8, 0.0, 0, False), (8, 1.2, 0, False), (64, 1.2, 0, False), (8, 1.2, 6, True),
     (64, 1.2, 6, True), (8, 1.2, 6, "template"), (64, 0.0, 0, "template"),
     (8, 1.2, 6, "context"), (64, 1.2, 0, "context")],
)  # fmt: skip
def test_tiling_does_not_change_result(n_tiles, psf_sigma, fine, position):
    template = [12, 12, 12] if position in ("template", "context") else None
    context = 3 if position == "context" else 0
    model = small_model(
        sweeps=3, psf_sigma=psf_sigma, fine_channels=fine, position=bool(position),
        template_shape=template, template_offset=fine > 0,
        context_features=context, context_shape=[5, 5, 5] if context else None,
    )  # fmt: skip
    model = model.eval()
    x, p, mask = smooth_inputs(seed=1)
    with torch.no_grad():
        whole = run_tiled(model, x, p, mask, n_tiles=1)
        tiled = run_tiled(model, x, p, mask, n_tiles=n_tiles)
    for key in ("pet", "a", "b", "reliability"):
        rms = ((whole[key] - tiled[key]) ** 2).mean().sqrt().item()
        assert rms < 1e-5, (key, rms)
    # and the output is not trivially constant
    assert whole["pet"][mask > 0].std() > 1e-2


def test_fine_branch_starts_neutral_and_learns_voxel_detail():
    """The voxel-wise branch's head starts at zero (the model equals the coarse one) and, once
    non-zero, makes coefficients vary below the coarse grid's resolution."""
    x, p, mask = smooth_inputs(seed=6)
    coarse = small_model(seed=7).eval()
    fine = small_model(seed=7, fine_channels=6).eval()
    with torch.no_grad():
        fine.net.fine_head.weight.zero_()
        fine.net.load_state_dict(coarse.net.state_dict(), strict=False)
        a = run_tiled(coarse, x, p, mask)
        b = run_tiled(fine, x, p, mask)
        assert torch.allclose(a["pet"], b["pet"])
        fine.net.fine_head.weight.normal_(0, 0.3)
        c = run_tiled(fine, x, p, mask)

    # second differences along an axis: a trilinear upsampling of a 4-voxel grid is piecewise
    # linear, so they vanish inside coarse cells; the fine branch breaks that
    def roughness(field):
        second = field.diff(n=2, dim=2)
        return second[(mask[:, :, 1:-1] > 0).expand_as(second)].abs().mean().item()

    assert roughness(c["a"]) > 5 * roughness(b["a"])


def test_position_channels_span_the_whole_grid():
    from gausspet_bids.model.network import model_input, position_channels

    x, p, mask = smooth_inputs(shape=(8, 12, 16))
    pos = position_channels(mask)
    assert pos.shape == (1, 3, 8, 12, 16)
    assert pos[0, 0, 0].eq(-1).all() and pos[0, 0, -1].eq(1).all()  # first axis, both ends
    assert pos[0, 2, :, :, 0].eq(-1).all() and pos[0, 2, :, :, -1].eq(1).all()
    inp = model_input(x, p, mask, pos)
    assert inp.shape[1] == 2 * 5 + 3 + 1 and torch.equal(inp[:, -1:], mask)  # mask stays last


def test_determinism_with_seed():
    x, p, mask = smooth_inputs(seed=2)
    with torch.no_grad():
        a = run_tiled(small_model(seed=4), x, p, mask)["pet"]
        b = run_tiled(small_model(seed=4), x, p, mask)["pet"]
        c = run_tiled(small_model(seed=5), x, p, mask)["pet"]
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_sweeps_change_output():
    model = small_model(sweeps=0).eval()
    x, p, mask = smooth_inputs(seed=3)
    with torch.no_grad():
        y0 = run_tiled(model, x, p, mask, sweeps=0)["pet"]
        y1 = run_tiled(model, x, p, mask, sweeps=1)["pet"]
    assert (y0 - y1)[mask > 0].abs().mean() > 1e-3


def test_tile_bounds_follow_stride():
    assert axis_bounds(112, 4, 4) == [(0, 28), (28, 56), (56, 84), (84, 112)]
    assert axis_bounds(40, 4, 4) == [(0, 8), (8, 20), (20, 28), (28, 40)]
    assert len(tile_boxes((96, 112, 96), 64, 4)) == 64
    with pytest.raises(ValueError, match="cube"):
        tile_boxes((32, 32, 32), 6, 4)
    with pytest.raises(ValueError, match="multiple"):
        axis_bounds(30, 2, 4)


def test_mask_box_crop_gives_same_core():
    from gausspet_bids.model.tiling import mask_box, pad_input, padded_box

    model = small_model(sweeps=1, psf_sigma=1.0).eval()
    x, p, mask = smooth_inputs(seed=4)
    box = mask_box(mask[0, 0], model.stride)
    assert all(s.start % 4 == 0 and s.stop % 4 == 0 for s in box)
    assert mask[(0, 0, *box)].sum() == mask.sum()
    with torch.no_grad():
        whole = run_tiled(model, x, p, mask)["pet"]
        padded = pad_input(model, x, p, mask)
        crop = model.forward_tile(padded[(Ellipsis, *padded_box(box, model.halo))], p)["pet"]
    assert torch.allclose(crop, whole[(Ellipsis, *box)], atol=1e-6)


def test_random_box_is_an_exact_tile_of_whole_strides():
    from gausspet_bids.model.tiling import pad_input, padded_box, random_box, tile_input

    model = small_model(sweeps=1, psf_sigma=1.0, fine_channels=4, position=True).eval()
    x, p, mask = smooth_inputs(seed=5)
    gen = torch.Generator().manual_seed(0)
    boxes = [random_box(mask[0, 0], 16, model.stride, gen) for _ in range(20)]
    for box in boxes:
        assert all(s.start % 4 == 0 and s.stop - s.start == 16 for s in box)
        assert all(0 <= s.start and s.stop <= 32 for s in box)
    assert len({tuple(s.start for s in b) for b in boxes}) > 3  # they do move
    with torch.no_grad():
        whole = run_tiled(model, x, p, mask)["pet"]
        padded = pad_input(model, x, p, mask)
        tile = model.forward_tile(padded[(Ellipsis, *padded_box(boxes[0], model.halo))], p)
    assert torch.allclose(tile["pet"], whole[(Ellipsis, *boxes[0])], atol=1e-6)
    for box in boxes[:5]:  # the training path builds the same tile input without padding all
        cut = padded[(Ellipsis, *padded_box(box, model.halo))]
        assert torch.equal(tile_input(model, x, p, mask, box), cut)
    with pytest.raises(ValueError, match="multiple"):
        random_box(mask[0, 0], 10, 4, gen)


def test_template_map_starts_neutral_and_is_read_at_the_voxel_position():
    """A zero map leaves the model unchanged; at lattice points the gain and offset are the
    stored values (trilinear sampling at the position channels, axis order kept)."""
    from gausspet_bids.model.network import position_channels
    from gausspet_bids.model.template_field import TemplateField, lattice_shape

    assert lattice_shape((96, 112, 96), 2) == [49, 57, 49]
    assert lattice_shape((33, 9, 5), 4) == [9, 3, 2]
    x, p, mask = smooth_inputs(seed=8)
    plain = small_model(seed=3, position=True).eval()
    mapped = small_model(seed=3, position=True, template_shape=[9, 9, 9]).eval()
    with torch.no_grad():
        mapped.net.template.maps.zero_()
        assert torch.equal(
            run_tiled(plain, x, p, mask)["pet"], run_tiled(mapped, x, p, mask)["pet"]
        )
    field = TemplateField([3, 5, 9], offset=True)  # lattice spacing 16, 8, 4 on a 33^3 grid
    with torch.no_grad():
        field.maps.normal_()
    pos = position_channels(torch.zeros(1, 1, 33, 33, 33))
    gain, offset = field(pos)
    assert gain.shape == offset.shape == (1, 1, 33, 33, 33)
    assert torch.allclose(gain[0, 0, ::16, ::8, ::4], field.maps[0, 0], atol=1e-5)
    assert torch.allclose(offset[0, 0, ::16, ::8, ::4], field.maps[0, 1], atol=1e-5)
    raw = torch.rand(1, 3 * 2 + 1, 33, 33, 33)
    out = field.apply(raw, pos, 2)
    assert torch.allclose(out[:, :2], raw[:, :2] * (1 + gain))  # forward slopes a scaled
    assert torch.allclose(out[:, 2:3], raw[:, 2:3] * (1 + gain) + offset)  # offset b
    assert torch.equal(out[:, 3:], raw[:, 3:])  # inverse pathway untouched
    gain_only = TemplateField([3, 5, 9])
    assert gain_only.maps.shape == (1, 1, 3, 5, 9)
    with torch.no_grad():
        gain_only.maps.copy_(field.maps[:, :1])
    assert gain_only(pos)[1] is None
    out = gain_only.apply(raw, pos, 2)
    assert torch.allclose(out[:, :3], raw[:, :3] * (1 + gain))  # a and b scaled, nothing added
    with pytest.raises(ValueError, match="position"):
        GaussPET(5, channels=8, depth=2, template_shape=[3, 3, 3])


def test_participant_context_is_one_summary_of_the_whole_volume():
    """Zero context maps leave the model unchanged; the summary of a contrast subset equals the
    pooled input built with that subset (presence applied after pooling); a change far outside
    a tile (a bright 'lesion') changes that tile's output only through the summary; a model
    with a context refuses to run without one."""
    from gausspet_bids.model.global_context import pooled_input
    from gausspet_bids.model.network import model_input, position_channels
    from gausspet_bids.model.tiling import (
        pad_input,
        padded_box,
        participant_context,
        whole_pooled_input,
    )

    x, p, mask = smooth_inputs(seed=9)
    kw = {"position": True, "template_shape": [5, 5, 5]}
    plain = small_model(seed=3, **kw).eval()
    ctx = small_model(seed=3, context_features=2, context_shape=[4, 4, 4], **kw).eval()
    plain.load_state_dict(
        {k: v for k, v in ctx.state_dict().items() if not k.startswith("net.context.")}
    )
    with torch.no_grad():
        maps = ctx.net.context.maps.clone()
        ctx.net.context.maps.zero_()
        assert torch.equal(run_tiled(plain, x, p, mask)["pet"], run_tiled(ctx, x, p, mask)["pet"])
        ctx.net.context.maps.copy_(maps)
        subset = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0]).view(1, -1, 1, 1, 1)
        direct = pooled_input(model_input(x, subset, mask, position_channels(mask)))
        net = ctx.net.context
        z_direct = net.encoder(direct.flatten(2).transpose(1, 2))
        w = direct[:, -1:].flatten(2).transpose(1, 2)
        z_direct = (w * z_direct).sum(1) / w.sum(1)
        z = participant_context(ctx, x, subset, mask)
        assert z.shape == (1, 2) and torch.allclose(z, z_direct, atol=1e-6)
        assert not torch.allclose(z, participant_context(ctx, x, p, mask))
        assert plain.net.summarise(whole_pooled_input(x, mask), p) is None
        lesion = x.clone()
        lesion[:, 3, 20:28, 20:28, 20:28] += 3.0  # far from the first tile's core
        box = (slice(0, 8), slice(0, 8), slice(0, 8))
        outs = []
        for volume in (x, lesion):
            padded = pad_input(ctx, volume, p, mask)
            tile = padded[(Ellipsis, *padded_box(box, ctx.halo))]
            assert torch.equal(
                tile, pad_input(ctx, x, p, mask)[(Ellipsis, *padded_box(box, ctx.halo))]
            )
            z = participant_context(ctx, volume, p, mask)
            outs.append(ctx.forward_tile(tile, p, context=z)["pet"])
        assert not torch.allclose(outs[0], outs[1])
        with pytest.raises(ValueError, match="context"):
            ctx.forward_tile(tile, p)
    with pytest.raises(ValueError, match="position"):
        GaussPET(5, channels=8, depth=2, context_features=2, context_shape=[3, 3, 3])
