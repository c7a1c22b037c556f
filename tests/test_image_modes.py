"""Every image mode Pillow opens is converted to uint8 faithfully, or refused by name.

Each test writes real files with Pillow (checking the mode they reopen in), loads them through
the public ``load_images`` folder path and as a list of PIL images, and asserts pixel values.
"""

import warnings

import numpy as np
import pytest
from PIL import Image, ImageCms

from synthgan.cli import main
from synthgan.errors import DataError
from synthgan.image.data import load_images

SIZE = 8


def _save(folder, images, suffix=".png", mode=None):
    """Write images as files; check each reopens in ``mode`` so the test really covers it."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        path = folder / f"{i:02d}{suffix}"
        img.save(path)
        with Image.open(path) as back:
            assert back.mode == (mode or img.mode), (path, back.mode)
    return folder


def _both(tmp_path, images, suffix=".png", mode=None):
    """(loaded from a folder of files, loaded from the PIL images in memory)."""
    folder = _save(tmp_path / "imgs", images, suffix, mode)
    return load_images(folder), load_images(images)


def _pattern(seed=0, high=256, shape=(SIZE, SIZE)):
    return np.random.default_rng(seed).integers(0, high, shape)


def _quiet(fn, *args):
    """Call fn with warnings turned into errors: the conversion is expected to be silent."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args)


# --- 8-bit modes taken as they are --------------------------------------------------------------------


def test_mode_1_becomes_black_and_white(tmp_path):
    bits = _pattern(high=2).astype(bool)
    images = [Image.fromarray(bits).convert("1"), Image.fromarray(~bits).convert("1")]
    for loaded in _both(tmp_path, images):
        assert loaded.squeeze and loaded.images.shape == (2, SIZE, SIZE, 1)
        np.testing.assert_array_equal(loaded.images[0, ..., 0], np.where(bits, 255, 0))
        np.testing.assert_array_equal(loaded.images[1, ..., 0], np.where(bits, 0, 255))
    # a bool array is the same data: the same values
    np.testing.assert_array_equal(load_images(np.stack([bits, ~bits])).images, loaded.images)


def test_mode_L_as_is(tmp_path):
    grey = _pattern().astype(np.uint8)
    for loaded in _both(tmp_path, [Image.fromarray(grey)] * 2):
        np.testing.assert_array_equal(loaded.images[..., 0], np.stack([grey, grey]))
        assert loaded.source_range is None


def test_mode_RGB_as_is(tmp_path):
    rgb = _pattern(shape=(SIZE, SIZE, 3)).astype(np.uint8)
    for loaded in _both(tmp_path, [Image.fromarray(rgb)] * 2):
        assert not loaded.squeeze
        np.testing.assert_array_equal(loaded.images[0], rgb)


# --- palettes -----------------------------------------------------------------------------------------


def _palette_image(colours, index):
    img = Image.fromarray(index.astype(np.uint8), mode="L").convert("P")
    img.putpalette([c for colour in colours for c in colour])
    return img


def test_mode_P_colour_palette_becomes_its_rgb_colours(tmp_path):
    colours = [(255, 0, 0), (0, 128, 0), (10, 20, 250)]
    index = _pattern(high=3)
    for loaded in _both(tmp_path, [_palette_image(colours, index)] * 2, ".png", "P"):
        assert loaded.images.shape == (2, SIZE, SIZE, 3)
        np.testing.assert_array_equal(loaded.images[0], np.array(colours, dtype=np.uint8)[index])


def test_mode_P_grey_palette_stays_grey(tmp_path):
    colours = [(0, 0, 0), (90, 90, 90), (250, 250, 250)]
    index = _pattern(high=3)
    for loaded in _both(tmp_path, [_palette_image(colours, index)] * 2, ".gif", "P"):
        assert loaded.squeeze and loaded.images.shape == (2, SIZE, SIZE, 1)
        np.testing.assert_array_equal(loaded.images[0, ..., 0], np.array([0, 90, 250])[index])


def test_mode_P_transparency_follows_the_alpha_rule(tmp_path):
    index = _pattern(high=2)
    unused = _palette_image([(255, 0, 0), (0, 0, 255), (0, 255, 0)], index)
    unused.info["transparency"] = 2  # an index no pixel uses: every pixel opaque
    for loaded in _both(tmp_path / "opaque", [unused] * 2):
        np.testing.assert_array_equal(loaded.images[0], np.array([(255, 0, 0), (0, 0, 255)], np.uint8)[index])
    used = _palette_image([(255, 0, 0), (0, 0, 255)], index)
    used.info["transparency"] = 1
    folder = _save(tmp_path / "transparent", [used], ".png", "P")
    with pytest.raises(DataError, match=r"00\.png: mode P.*not fully opaque.*flatten"):
        load_images(folder)
    with pytest.raises(DataError, match=r"image 0: mode P"):
        load_images([used])


def test_mode_PA_opaque_loads_and_transparent_is_refused(tmp_path):
    index = _pattern(high=2)
    colour = _palette_image([(200, 10, 10), (10, 10, 200)], index)
    opaque = Image.merge("PA", (colour, Image.new("L", colour.size, 255)))
    opaque.putpalette(colour.getpalette())
    for loaded in _both(tmp_path / "opaque", [opaque] * 2, ".tif"):
        np.testing.assert_array_equal(loaded.images[0], np.array([(200, 10, 10), (10, 10, 200)], np.uint8)[index])
    half = Image.merge("PA", (colour, Image.new("L", colour.size, 128)))
    half.putpalette(colour.getpalette())
    folder = _save(tmp_path / "half", [half], ".tif")
    with pytest.raises(DataError, match=rf"00\.tif: mode PA .*{SIZE * SIZE} of {SIZE * SIZE} pixels"):
        load_images(folder)


# --- alpha --------------------------------------------------------------------------------------------


def test_mode_LA_opaque_alpha_is_dropped(tmp_path):
    grey = _pattern().astype(np.uint8)
    img = Image.merge("LA", (Image.fromarray(grey), Image.new("L", grey.shape[::-1], 255)))
    for loaded in _both(tmp_path, [img] * 2):
        assert loaded.squeeze
        np.testing.assert_array_equal(loaded.images[0, ..., 0], grey)


def test_mode_LA_with_transparent_pixels_is_refused_by_file_and_mode(tmp_path):
    grey = _pattern().astype(np.uint8)
    alpha = np.full_like(grey, 255)
    alpha[0, :3] = 0
    img = Image.merge("LA", (Image.fromarray(grey), Image.fromarray(alpha)))
    folder = _save(tmp_path / "imgs", [img])
    with pytest.raises(DataError, match=r"00\.png: mode LA with 3 of 64 pixels not fully opaque"):
        load_images(folder)


def test_mode_RGBA_opaque_loads_and_every_transparent_file_is_listed(tmp_path):
    rgb = _pattern(shape=(SIZE, SIZE, 3)).astype(np.uint8)
    opaque = Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]))
    for loaded in _both(tmp_path / "opaque", [opaque] * 2):
        np.testing.assert_array_equal(loaded.images[0], rgb)
    clear = Image.fromarray(np.dstack([rgb, np.zeros(rgb.shape[:2], np.uint8)]))
    folder = _save(tmp_path / "clear", [opaque] + [clear] * 7)
    with pytest.raises(DataError) as info:
        load_images(folder)
    message = str(info.value)
    assert message.startswith("7 image(s) cannot be used as given")
    assert "01.png: mode RGBA with 64 of 64 pixels" in message and "... and 2 more" in message
    assert "00.png" not in message  # the opaque one is fine


@pytest.mark.parametrize("mode, opaque_as", [("La", "LA"), ("RGBa", "RGBA")])
def test_premultiplied_alpha_modes(mode, opaque_as):
    channels = len(opaque_as) - 1
    colour = _pattern(shape=(SIZE, SIZE, channels)).astype(np.uint8)
    pixels = np.dstack([colour, np.full((SIZE, SIZE), 255, np.uint8)])
    opaque = Image.frombytes(mode, (SIZE, SIZE), pixels.tobytes())
    assert opaque.mode == mode
    loaded = load_images([opaque, opaque])
    np.testing.assert_array_equal(loaded.images[0], colour)
    pixels[..., -1] = 10
    with pytest.raises(DataError, match=rf"image 1: mode {mode} with 64 of 64"):
        load_images([opaque, Image.frombytes(mode, (SIZE, SIZE), pixels.tobytes())])


# --- other colour spaces ------------------------------------------------------------------------------


def test_mode_CMYK_becomes_rgb(tmp_path):
    cmyk = Image.fromarray(_pattern(shape=(SIZE, SIZE, 4)).astype(np.uint8), mode="CMYK")
    expected = np.asarray(cmyk.convert("RGB"))
    for loaded in _both(tmp_path / "tif", [cmyk] * 2, ".tif"):
        np.testing.assert_array_equal(loaded.images[0], expected)
    # a flat colour through a (lossy) CMYK JPEG: pure cyan, magenta, yellow, black
    for c, rgb in [((255, 0, 0, 0), (0, 255, 255)), ((0, 255, 0, 0), (255, 0, 255)),
                   ((0, 0, 255, 0), (255, 255, 0)), ((0, 0, 0, 255), (0, 0, 0))]:
        folder = _save(tmp_path / f"jpg{c}", [Image.new("CMYK", (SIZE, SIZE), c)] * 2, ".jpg", "CMYK")
        assert np.abs(load_images(folder).images.astype(int) - rgb).max() <= 3, c


def test_mode_YCbCr_and_HSV_and_RGBX_become_rgb(tmp_path):
    rgb = _pattern(shape=(SIZE, SIZE, 3)).astype(np.uint8)
    ycbcr = Image.fromarray(rgb).convert("YCbCr")
    for loaded in _both(tmp_path, [ycbcr] * 2, ".tif"):
        np.testing.assert_array_equal(loaded.images[0], np.asarray(ycbcr.convert("RGB")))
        assert np.abs(loaded.images[0].astype(int) - rgb).max() <= 3
    hsv = Image.fromarray(rgb).convert("HSV")
    assert np.abs(load_images([hsv, hsv]).images[0].astype(int) - rgb).max() <= 8
    rgbx = Image.fromarray(rgb).convert("RGBX")
    np.testing.assert_array_equal(load_images([rgbx, rgbx]).images[0], rgb)


def test_mode_LAB_becomes_its_srgb_colours(tmp_path):
    rgb = np.array([[[200, 30, 40], [10, 200, 90], [128, 128, 128], [255, 255, 255]]] * 4, dtype=np.uint8)
    to_lab = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB")
    lab = ImageCms.applyTransform(Image.fromarray(rgb), to_lab)
    assert lab.mode == "LAB"
    for loaded in _both(tmp_path, [lab] * 2, ".tif"):
        assert loaded.images.shape == (2, 4, 4, 3)
        assert np.abs(loaded.images[0].astype(int) - rgb).max() <= 16  # 8-bit a*/b* round off


# --- 16-bit, 32-bit and float -------------------------------------------------------------------------


def _twelve_bit(n=3):
    """A 12-bit scanner's gradient 0..4095 in a 16-bit image, shifted a little per image."""
    ramp = np.linspace(0, 4095, 32 * 32).round().astype(np.uint16).reshape(32, 32)
    return [np.minimum(ramp + 40 * i, 4095).astype(np.uint16) for i in range(n)]


def test_16_bit_png_keeps_its_contrast_not_clipped_to_white(tmp_path):
    scans = _twelve_bit()
    folder = _save(tmp_path / "imgs", [Image.fromarray(s) for s in scans], ".png", "I;16")
    with pytest.warns(UserWarning, match=r"mode I;16 image data spans 0\.\.4095.*one scale for all 3"):
        loaded = load_images(folder)
    x = loaded.images[..., 0]
    assert (x == 255).mean() < 0.02  # was 98.5% white
    assert len(np.unique(x)) == 256
    assert loaded.source_range == (0, 4095)
    np.testing.assert_array_equal(x, np.rint(np.stack(scans) * (255 / 4095)).astype(np.uint8))
    values = np.stack(scans).reshape(-1).astype(int)
    order = np.argsort(values, kind="stable")
    assert (np.diff(x.reshape(-1)[order].astype(int)) >= 0).all()  # the ordering of values is kept


def test_16_bit_scale_is_shared_by_the_whole_dataset_not_per_image(tmp_path):
    dim = np.full((SIZE, SIZE), 1000, np.uint16)
    bright = np.full((SIZE, SIZE), 4000, np.uint16)
    dim[0, 0] = bright[0, 0] = 0
    with pytest.warns(UserWarning, match=r"0\.\.4000"):
        loaded, from_list = _both(tmp_path, [Image.fromarray(dim), Image.fromarray(bright)], ".png", "I;16")
    np.testing.assert_array_equal(loaded.images, from_list.images)
    assert loaded.images[0, 1, 1, 0] == round(1000 * 255 / 4000) == 64  # dim stays dim
    assert loaded.images[1, 1, 1, 0] == 255


def test_16_bit_big_endian_tiff_and_32_bit_signed_are_mapped_the_same_way(tmp_path):
    scans = _twelve_bit(2)
    big = [Image.frombytes("I;16B", s.shape[::-1], s.astype(">u2").tobytes()) for s in scans]
    with pytest.warns(UserWarning, match=r"mode I;16B image data spans 0\.\.4095"):
        loaded = load_images(_save(tmp_path / "big", big, ".tif", "I;16B"))
    expected = np.rint(np.stack(scans) * (255 / 4095)).astype(np.uint8)[..., None]
    np.testing.assert_array_equal(loaded.images, expected)
    # mode I (int32) with negative values, e.g. Hounsfield units -1024..3071: low -> 0, high -> 255
    hu = [s.astype(np.int32) - 1024 for s in scans]
    assert Image.fromarray(hu[0]).mode == "I"
    with pytest.warns(UserWarning, match=r"mode I image data spans -1024\.\.3071"):
        loaded_i, from_list = _both(tmp_path / "hu", [Image.fromarray(h) for h in hu], ".tif", "I")
    np.testing.assert_array_equal(loaded_i.images, expected)
    np.testing.assert_array_equal(from_list.images, expected)


def test_16_bit_data_that_fits_8_bits_is_kept_as_is(tmp_path):
    grey = _pattern().astype(np.uint16)
    loaded, from_list = _quiet(_both, tmp_path, [Image.fromarray(grey)] * 2, ".png", "I;16")
    np.testing.assert_array_equal(loaded.images[0, ..., 0], grey)
    assert loaded.source_range is None and from_list.source_range is None


def test_uint16_array_and_the_same_data_as_16_bit_pngs_load_identically(tmp_path):
    scans = _twelve_bit()
    folder = _save(tmp_path / "imgs", [Image.fromarray(s) for s in scans], ".png", "I;16")
    with pytest.warns(UserWarning):
        from_files = load_images(folder)
    with pytest.warns(UserWarning, match=r"uint16 image data spans 0\.\.4095"):
        from_array = load_images(np.stack(scans))
    with pytest.warns(UserWarning):
        from_arrays = load_images(list(scans))
    np.savez(tmp_path / "scans.npz", train_images=np.stack(scans))
    with pytest.warns(UserWarning):
        from_npz = load_images(tmp_path / "scans.npz")
    for other in (from_array, from_arrays, from_npz):
        np.testing.assert_array_equal(other.images, from_files.images)
        assert other.source_range == from_files.source_range == (0, 4095) and other.squeeze


def test_mode_F_in_unit_range_is_scaled_like_a_float_array(tmp_path):
    values = np.random.default_rng(0).random((2, SIZE, SIZE)).astype(np.float32)
    values[0, 0, :2] = [0.0, 1.0]
    loaded, from_list = _quiet(_both, tmp_path, [Image.fromarray(v) for v in values], ".tif", "F")
    expected = np.round(values * 255).astype(np.uint8)
    np.testing.assert_array_equal(loaded.images[..., 0], expected)
    np.testing.assert_array_equal(from_list.images[..., 0], expected)
    np.testing.assert_array_equal(load_images(values).images[..., 0], expected)


def test_mode_F_outside_unit_range_or_nan_is_refused_by_file(tmp_path):
    good = np.full((SIZE, SIZE), 0.5, np.float32)
    hot = good.copy()
    hot[2, 2] = 1000.0
    folder = _save(tmp_path / "hot", [Image.fromarray(good), Image.fromarray(hot)], ".tif", "F")
    with pytest.raises(DataError, match=r"must lie in \[0, 1\].*first .*01\.tif \(mode F\)"):
        load_images(folder)
    nan = good.copy()
    nan[1, 1] = np.nan
    folder = _save(tmp_path / "nan", [Image.fromarray(good), Image.fromarray(nan)], ".tif", "F")
    with pytest.raises(DataError, match=r"1 NaN or infinite pixel value\(s\), first in .*01\.tif \(mode F\)"):
        load_images(folder)


# --- mixed folders ------------------------------------------------------------------------------------


def test_16_bit_mixed_with_8_bit_is_refused_naming_both(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(_twelve_bit(1)[0][:SIZE, :SIZE]).save(folder / "deep.png")
    Image.fromarray(_pattern().astype(np.uint8)).save(folder / "shallow.png")
    with pytest.raises(DataError, match=r"deep\.png \(mode I;16\).*shallow\.png \(mode L\).*one bit depth"):
        load_images(folder)
    # the same rule for a list of arrays
    with pytest.raises(DataError, match=r"image 0.*image 1"):
        load_images([np.full((SIZE, SIZE), 4000, np.uint16), np.zeros((SIZE, SIZE), np.uint8)])


def test_mixed_modes_with_fixed_scales_load_together(tmp_path):
    """1-bit, 8-bit grey, palette, float and 16-bit data that fits 8 bits share one scale."""
    grey = _pattern().astype(np.uint8)
    images = [
        Image.fromarray(grey),
        Image.fromarray(grey > 127).convert("1"),
        Image.fromarray(grey).convert("P"),
        Image.fromarray(grey.astype(np.uint16)),
        Image.fromarray(grey.astype(np.float32) / 255),
    ]
    loaded = _quiet(load_images, images)
    x = loaded.images[..., 0]
    np.testing.assert_array_equal(x[0], grey)
    np.testing.assert_array_equal(x[1], np.where(grey > 127, 255, 0))
    for i in (2, 3, 4):
        np.testing.assert_array_equal(x[i], grey)
    with pytest.warns(UserWarning, match="converted to RGB"):
        both = load_images(images + [Image.new("RGB", (SIZE, SIZE), (1, 2, 3))])
    np.testing.assert_array_equal(both.images[0], np.dstack([grey] * 3))
    assert (both.images[-1] == (1, 2, 3)).all()


# --- every mode, unknown modes, frames, CLI -----------------------------------------------------------


@pytest.mark.parametrize("mode", Image.MODES)
def test_every_mode_pillow_knows_loads_or_is_refused_by_name(mode):
    img = Image.new(mode, (SIZE, SIZE))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = load_images([img, img])
    except DataError as exc:
        assert f"mode {mode}" in str(exc) or f"mode {mode!r}" in str(exc)
    else:
        assert loaded.images.dtype == np.uint8 and loaded.images.shape[:3] == (2, SIZE, SIZE)


def test_a_mode_without_a_faithful_conversion_is_refused_by_name():
    class OddMode(Image.Image):
        @property
        def mode(self):
            return "BGR;24"

    with pytest.raises(DataError, match=r"image 0: image mode 'BGR;24' is not supported"):
        load_images([OddMode()])


def test_several_frames_warn_that_only_the_first_is_used(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    first, second = (Image.new("L", (SIZE, SIZE), v) for v in (10, 200))
    first.save(folder / "stack.tif", save_all=True, append_images=[second])
    Image.new("L", (SIZE, SIZE), 50).save(folder / "single.tif")
    with pytest.warns(UserWarning, match=r"1 file\(s\) hold several frames.*stack\.tif \(2\)"):
        loaded = load_images(folder)
    assert (loaded.images[1] == 10).all()


def test_pil_images_smaller_than_4x4_are_refused_like_arrays():
    with pytest.raises(DataError, match="too small"):
        load_images([Image.new("L", (3, 3))] * 2)


def test_cli_fit_images_on_16_bit_pngs_warns_with_the_mapping(tmp_path, capsys):
    for label in ("a", "b"):
        _save(tmp_path / "imgs" / label, [Image.fromarray(s[:16, :16]) for s in _twelve_bit(4)], ".png", "I;16")
    argv = ["fit-images", str(tmp_path / "imgs"), "-o", str(tmp_path / "m.synth"), "--epochs", "1",
            "--batch-size", "8", "--channels", "8", "--seed", "0", "-q"]
    with pytest.warns(UserWarning, match=r"mode I;16 image data spans 0\.\.\d+, beyond 8 bits"):
        assert main(argv) == 0
    assert (tmp_path / "m.synth").exists()


def test_cli_fit_images_refuses_transparent_images_by_file(tmp_path, capsys):
    clear = Image.new("RGBA", (SIZE, SIZE), (10, 20, 30, 0))
    _save(tmp_path / "imgs" / "a", [clear] * 2)
    code = main(["fit-images", str(tmp_path / "imgs"), "-o", str(tmp_path / "m.synth")])
    err = capsys.readouterr().err
    assert code == 2 and "00.png: mode RGBA" in err and "flatten" in err
    assert not (tmp_path / "m.synth").exists()
