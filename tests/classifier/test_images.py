import io

import pytest
from PIL import Image

from classifier.images import ImageError, load_image, validate_image_bytes


def encoded(image, fmt="PNG", **options):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_it_loads_a_file_as_rgb(tmp_path):
    path = tmp_path / "grey.png"
    Image.new("L", (4, 3), 128).save(path)
    image = load_image(path)
    assert (image.mode, image.size, image.getpixel((0, 0))) == ("RGB", (4, 3), (128, 128, 128))


def test_it_loads_bytes_and_puts_transparent_pixels_on_white():
    data = encoded(Image.new("RGBA", (2, 2), (255, 0, 0, 0)))
    assert load_image(data).getpixel((1, 1)) == (255, 255, 255)


def test_it_takes_the_first_frame_of_an_animated_gif():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert load_image(data).getpixel((0, 0)) == (255, 0, 0)


def test_it_says_when_a_file_is_missing(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "nope.jpg")


def test_it_refuses_a_file_over_the_byte_limit(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (64, 64)).save(path)
    with pytest.raises(ImageError, match="too large"):
        load_image(path, max_bytes=50)


def test_it_refuses_a_text_file_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("definitely not a picture")
    with pytest.raises(ImageError, match="not an image"):
        load_image(path)


def test_it_refuses_a_tiny_png_declaring_a_huge_image_even_without_pils_global_limit(monkeypatch):
    bomb = encoded(Image.new("1", (8000, 6000)))  # 48 MP, a few KB compressed
    assert len(bomb) < 20_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ImageError, match="decompression bomb"):
        load_image(bomb)


def test_it_applies_the_pixel_limit_given_by_the_caller():
    with pytest.raises(ImageError, match="10,000 pixels"):
        load_image(encoded(Image.new("RGB", (100, 100))), max_pixels=9_999)


def test_it_treats_pils_bomb_warning_as_an_error(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5_000)  # warns above 5k, errors above 10k
    with pytest.raises(ImageError, match="decompression bomb"):
        load_image(encoded(Image.new("RGB", (80, 80))))


def test_it_refuses_a_truncated_jpeg():
    data = encoded(Image.effect_noise((64, 64), 50).convert("RGB"), "JPEG", quality=90)
    with pytest.raises(ImageError, match="truncated"):
        load_image(data[: len(data) // 2])


def test_it_validates_bytes_and_reports_size_and_format():
    assert validate_image_bytes(encoded(Image.new("RGB", (5, 7)), "WEBP")) == (5, 7, "WEBP")
    assert validate_image_bytes(encoded(Image.new("RGB", (3, 2)), "BMP")) == (3, 2, "BMP")


def test_it_rejects_formats_outside_the_allowed_list():
    with pytest.raises(ImageError, match="JPEG, PNG, WEBP, GIF, BMP"):
        validate_image_bytes(encoded(Image.new("RGB", (4, 4)), "TIFF"))


def test_it_raises_a_value_error_carrying_the_reason():
    with pytest.raises(ValueError) as caught:
        validate_image_bytes(b"")
    assert caught.value.reason == "image is empty (0 bytes)"
