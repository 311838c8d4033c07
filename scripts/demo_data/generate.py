"""Deterministic generator for the demo taxonomy and catalog (``make demo`` loads them).

Run ``python scripts/demo_data/generate.py`` to rewrite ``taxonomy.txt`` and ``catalog.csv``
next to this file. Output depends only on ``SEED`` and the tables below, so rerunning it gives
byte-identical files; review changes to the data by changing this script and regenerating.

Every product and brand here is invented for Taxoloop. Nothing is copied from any dataset.
Standard library only, so the script runs without the project's dependencies.
"""

from __future__ import annotations

import csv
import io
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

SEED = 20240611
HERE = Path(__file__).resolve().parent
TAXONOMY_FILE = HERE / "taxonomy.txt"
CATALOG_FILE = HERE / "catalog.csv"
COLUMNS = ["id", "title", "description", "brand", "color", "material", "category_path"]
LABELLED_SHARE = 0.35
MIN_LABELLED_PER_LEAF = 2

# --------------------------------------------------------------------------------------------
# Taxonomy: (id, path). Parents come before their children, as in Google's file. IDs are
# hand-picked (top level x000, second level xx00, leaves xxyy) and must never be renumbered.
# --------------------------------------------------------------------------------------------
TAXONOMY: list[tuple[int, str]] = [
    (1000, "Apparel"),
    (1100, "Apparel > Tops"),
    (1101, "Apparel > Tops > T-Shirts"),
    (1102, "Apparel > Tops > Shirts"),
    (1103, "Apparel > Tops > Sweaters"),
    (1200, "Apparel > Bottoms"),
    (1201, "Apparel > Bottoms > Jeans"),
    (1202, "Apparel > Bottoms > Shorts"),
    (1203, "Apparel > Bottoms > Skirts"),
    (1300, "Apparel > Outerwear"),
    (1301, "Apparel > Outerwear > Jackets"),
    (1302, "Apparel > Outerwear > Raincoats"),
    (2000, "Footwear"),
    (2100, "Footwear > Casual Shoes"),
    (2101, "Footwear > Casual Shoes > Sneakers"),
    (2102, "Footwear > Casual Shoes > Loafers"),
    (2200, "Footwear > Boots"),
    (2201, "Footwear > Boots > Ankle Boots"),
    (2202, "Footwear > Boots > Hiking Boots"),
    (2300, "Footwear > Summer Footwear"),
    (2301, "Footwear > Summer Footwear > Sandals"),
    (2302, "Footwear > Summer Footwear > Flip-Flops"),
    (3000, "Home & Kitchen"),
    (3100, "Home & Kitchen > Cookware"),
    (3101, "Home & Kitchen > Cookware > Frying Pans"),
    (3102, "Home & Kitchen > Cookware > Saucepans"),
    (3200, "Home & Kitchen > Kitchen Appliances"),
    (3201, "Home & Kitchen > Kitchen Appliances > Kettles"),
    (3202, "Home & Kitchen > Kitchen Appliances > Toasters"),
    (4000, "Electronics"),
    (4100, "Electronics > Audio"),
    (4101, "Electronics > Audio > Headphones"),
    (4102, "Electronics > Audio > Earbuds"),
    (4103, "Electronics > Audio > Speakers"),
    (4200, "Electronics > Phone Accessories"),
    (4201, "Electronics > Phone Accessories > Phone Cases"),
    (4202, "Electronics > Phone Accessories > Chargers"),
    (5000, "Bags & Luggage"),
    (5100, "Bags & Luggage > Bags"),
    (5101, "Bags & Luggage > Bags > Backpacks"),
    (5102, "Bags & Luggage > Bags > Laptop Bags"),
    (5103, "Bags & Luggage > Bags > Tote Bags"),
    (6000, "Sports & Outdoors"),
    (6100, "Sports & Outdoors > Fitness"),
    (6101, "Sports & Outdoors > Fitness > Yoga Mats"),
    (6102, "Sports & Outdoors > Fitness > Dumbbells"),
    (6200, "Sports & Outdoors > Camping"),
    (6201, "Sports & Outdoors > Camping > Tents"),
    (6202, "Sports & Outdoors > Camping > Sleeping Bags"),
    (7000, "Beauty & Personal Care"),
    (7100, "Beauty & Personal Care > Skin Care"),
    (7101, "Beauty & Personal Care > Skin Care > Moisturizers"),
    (7102, "Beauty & Personal Care > Skin Care > Sunscreen"),
    (7200, "Beauty & Personal Care > Hair Care"),
    (7201, "Beauty & Personal Care > Hair Care > Shampoo"),
    (7202, "Beauty & Personal Care > Hair Care > Hair Dryers"),
]
TAXONOMY_HEADER = "# Taxoloop_Demo_Taxonomy_Version: 1"

# --------------------------------------------------------------------------------------------
# Shared vocabularies. Brands are invented; any resemblance to a real mark is coincidental.
# --------------------------------------------------------------------------------------------
APPAREL_BRANDS = [
    "Northwind",
    "Harbor Lane",
    "Tallow & Thread",
    "Pinecrest",
    "Orchard Row",
    "Bramblewood",
    "Saltmarsh Co.",
    "Velvra",
]
FOOTWEAR_BRANDS = [
    "Stridewell",
    "Pebblewave",
    "Cobbleton",
    "Northwind",
    "Trailmere",
    "Sundry Finch",
]
COOK_BRANDS = ["Kettle & Co.", "Ferrowell", "Copperleaf", "Hearthmade", "Oakhaven Kitchen"]
AUDIO_BRANDS = ["Quietline", "Voltrek", "Aurelune", "Soundmoss", "Brightfold"]
PHONE_BRANDS = ["Voltrek", "Caseloom", "Brightfold", "Gripwell", "Lumenfield"]
BAG_BRANDS = ["Kestrel Gear", "Harbor Lane", "Ridgeway Supply", "Canvasory", "Maple & Moss"]
SPORT_BRANDS = ["Kestrel Gear", "Ironpine", "Cinderpeak", "Trailmere", "Lotusfield"]
BEAUTY_BRANDS = ["Glasswing", "Fernleaf Botanics", "Dewmere", "Tidecrest", "Aurelune"]

BASIC_COLORS = [
    "Black",
    "White",
    "Navy",
    "Grey",
    "Olive",
    "Burgundy",
    "Sand",
    "Forest Green",
    "Charcoal",
    "Rust",
    "Cream",
    "Sky Blue",
]
SHIRT_COLORS = [
    "Light Blue",
    "White",
    "Pink",
    "Navy",
    "Sage",
    "Blue Stripe",
    "Grey Check",
    "Ecru",
    "Chambray",
    "Red Gingham",
]
DENIM_COLORS = [
    "Dark Indigo",
    "Mid Wash",
    "Light Wash",
    "Black",
    "Stone Wash",
    "Raw Indigo",
    "Vintage Blue",
    "Grey",
]
TECH_COLORS = [
    "Black",
    "White",
    "Midnight Blue",
    "Graphite",
    "Silver",
    "Sage Green",
    "Coral",
    "Sand",
]
COOK_COLORS = ["Black", "Silver", "Graphite", "Copper", "Cream", "Sage", "Red", "Slate Blue"]

MENS_WOMENS = ["Men's", "Women's"]
WHO = ["Men's", "Women's", "Unisex", "Kids'"]


@dataclass(frozen=True)
class LeafSpec:
    """How to invent products for one leaf: every key of ``slots`` may appear in the templates,
    as may {brand}, {color}, {material} and {lc_color} (lower-case colour)."""

    path: str
    count: int
    brands: list[str]
    colors: list[str]
    materials: list[str]
    titles: list[str]
    descriptions: list[str]
    slots: dict[str, list[str]]
    # Optional (slot, {slot value: materials}) so that e.g. a denim jacket is made of denim.
    material_by: tuple[str, dict[str, list[str]]] | None = None


LEAVES: list[LeafSpec] = [
    LeafSpec(
        "Apparel > Tops > T-Shirts",
        46,
        APPAREL_BRANDS,
        BASIC_COLORS,
        ["Cotton", "Organic Cotton", "Cotton Blend", "Linen Blend", "Polyester"],
        [
            "{brand} {who} {fit} {neck} T-Shirt, {color}",
            "{brand} {who} {feature} Tee, {color}",
            "{brand} {who} {fit} {material} Tee - {color}",
            "{brand} {pack} {who} {neck} T-Shirts, {color}",
        ],
        [
            "Short-sleeve {lc_material} tee with a {fitl} cut and a ribbed neckline.",
            "A soft everyday T-shirt in {lc_color}. {care}",
            "{fitl_cap} short-sleeve top made from {lc_material}; {care_lc}",
            "Our {feature_lc} tee, pre-shrunk and cut for a {fitl} fit.",
        ],
        {
            "fit": ["Slim Fit", "Regular Fit", "Relaxed Fit", "Oversized", "Boxy"],
            "neck": ["Crew Neck", "V-Neck", "Scoop Neck", "Pocket Crew Neck", "Henley"],
            "feature": [
                "Graphic Print",
                "Heavyweight",
                "Essential",
                "Striped",
                "Garment-Dyed",
                "Ringer",
                "Logo",
            ],
            "pack": ["2-Pack", "3-Pack", "Pack of 5"],
        },
    ),
    LeafSpec(
        "Apparel > Tops > Shirts",
        40,
        APPAREL_BRANDS,
        SHIRT_COLORS,
        ["Cotton", "Linen", "Cotton Poplin", "Flannel", "Chambray", "Oxford Cotton"],
        [
            "{brand} {who2} {fit} {style} Shirt, {color}",
            "{brand} {who2} {sleeve} {material} Shirt - {color}",
            "{brand} {who2} {style} Button-Down Shirt, {color}",
        ],
        [
            "Woven {lc_material} shirt with a {collar} and full button placket.",
            "{sleeve} button-up in {lc_color} {lc_material}. {care}",
            "A {fitl} {stylel} shirt with a {collar}; {care_lc}",
        ],
        {
            "who2": MENS_WOMENS + ["Men's Big & Tall"],
            "fit": ["Slim Fit", "Regular Fit", "Tailored", "Relaxed"],
            "style": [
                "Oxford",
                "Poplin Dress",
                "Flannel Check",
                "Linen Camp",
                "Denim Western",
                "Seersucker",
                "Twill Work",
            ],
            "sleeve": ["Long Sleeve", "Short Sleeve", "Roll-Up Sleeve"],
            "collar": ["button-down collar", "spread collar", "camp collar", "mandarin collar"],
        },
        (
            "style",
            {
                "Oxford": ["Oxford Cotton"],
                "Poplin Dress": ["Cotton Poplin"],
                "Flannel Check": ["Flannel"],
                "Linen Camp": ["Linen"],
                "Denim Western": ["Chambray", "Cotton"],
                "Seersucker": ["Cotton"],
                "Twill Work": ["Cotton Twill"],
            },
        ),
    ),
    LeafSpec(
        "Apparel > Tops > Sweaters",
        22,
        APPAREL_BRANDS,
        BASIC_COLORS,
        ["Merino Wool", "Lambswool", "Cotton", "Cashmere Blend", "Acrylic"],
        [
            "{brand} {who} {knit} {neck} Sweater, {color}",
            "{brand} {who} {material} {neck} Jumper - {color}",
            "{brand} {who} {knit} Cardigan, {color}",
        ],
        [
            "{knit} knit in {lc_material} with ribbed cuffs and hem.",
            "A warm {lc_color} pullover for layering. {care}",
        ],
        {
            "knit": ["Cable Knit", "Fine Gauge", "Chunky", "Waffle Knit", "Fisherman", "Fair Isle"],
            "neck": ["Crew Neck", "V-Neck", "Roll Neck", "Half-Zip", "Mock Neck"],
        },
    ),
    LeafSpec(
        "Apparel > Bottoms > Jeans",
        28,
        APPAREL_BRANDS,
        DENIM_COLORS,
        ["Cotton Denim", "Stretch Denim", "Organic Cotton Denim", "Selvedge Denim"],
        [
            "{brand} {who3} {fit} Jeans, {color}",
            "{brand} {who3} {rise} {fit} Jeans - {color}, {leg} Leg",
            "{brand} {who3} {fit} {material} Jeans, {length}",
        ],
        [
            "Five-pocket jeans in {lc_material} with a {leg_lc} leg.",
            "{rise} jeans in a {lc_color} finish. {care}",
            "Classic {fitl} denim with a zip fly; inseam {length_lc}.",
        ],
        {
            "who3": ["Men's", "Women's", "Kids'"],
            "fit": ["Slim Fit", "Straight", "Skinny", "Relaxed", "Tapered", "Bootcut", "Wide-Leg"],
            "rise": ["High-Rise", "Mid-Rise", "Low-Rise"],
            "leg": ["Straight", "Tapered", "Flared", "Cropped"],
            "length": ["30in Inseam", "32in Inseam", "34in Inseam", "Ankle Length"],
        },
    ),
    LeafSpec(
        "Apparel > Bottoms > Shorts",
        16,
        APPAREL_BRANDS,
        BASIC_COLORS,
        ["Cotton Twill", "Nylon", "Linen", "Denim", "Recycled Polyester"],
        ["{brand} {who} {kind} Shorts, {color}", "{brand} {who} {inseam} {kind} Short - {color}"],
        [
            "{kind} shorts in {lc_material} with an elastic waist and side pockets.",
            "Above-the-knee {lc_color} shorts, {inseam} inseam.",
        ],
        {
            "kind": ["Chino", "Running", "Cargo", "Swim", "Denim Cut-Off", "Board", "Pull-On"],
            "inseam": ["5in", "7in", "9in"],
        },
        (
            "kind",
            {
                "Chino": ["Cotton Twill"],
                "Running": ["Nylon", "Recycled Polyester"],
                "Cargo": ["Cotton Twill", "Nylon"],
                "Swim": ["Nylon", "Recycled Polyester"],
                "Denim Cut-Off": ["Denim"],
                "Board": ["Recycled Polyester"],
                "Pull-On": ["Linen", "Cotton Twill"],
            },
        ),
    ),
    LeafSpec(
        "Apparel > Bottoms > Skirts",
        9,
        APPAREL_BRANDS,
        BASIC_COLORS,
        ["Cotton", "Denim", "Viscose", "Wool Blend", "Satin"],
        [
            "{brand} Women's {length} {kind} Skirt, {color}",
            "{brand} {kind} {material} Skirt - {color}",
        ],
        [
            "A {lc_length} {lc_kind} skirt in {lc_material} with a concealed side zip.",
            "{length} skirt that sits at the natural waist. {care}",
        ],
        {
            "length": ["Mini", "Midi", "Maxi", "Knee-Length"],
            "kind": ["Pleated", "A-Line", "Wrap", "Pencil", "Tiered", "Slip"],
        },
    ),
    LeafSpec(
        "Apparel > Outerwear > Jackets",
        20,
        APPAREL_BRANDS,
        BASIC_COLORS,
        ["Cotton Canvas", "Denim", "Nylon", "Wool Blend", "Faux Leather", "Polyester Fleece"],
        [
            "{brand} {who2} {kind} Jacket, {color}",
            "{brand} {who2} {material} {kind} Jacket - {color}",
        ],
        [
            "{kind} jacket in {lc_material} with two hand pockets and a full zip.",
            "A {lc_color} {lc_kind} jacket for cool days. {care}",
        ],
        {
            "who2": MENS_WOMENS,
            "kind": [
                "Bomber",
                "Denim Trucker",
                "Quilted",
                "Puffer",
                "Biker",
                "Chore",
                "Fleece",
                "Harrington",
            ],
        },
        (
            "kind",
            {
                "Bomber": ["Nylon", "Wool Blend"],
                "Denim Trucker": ["Denim"],
                "Quilted": ["Nylon"],
                "Puffer": ["Nylon"],
                "Biker": ["Faux Leather"],
                "Chore": ["Cotton Canvas"],
                "Fleece": ["Polyester Fleece"],
                "Harrington": ["Cotton Canvas"],
            },
        ),
    ),
    LeafSpec(
        "Apparel > Outerwear > Raincoats",
        8,
        APPAREL_BRANDS,
        BASIC_COLORS + ["Yellow"],
        ["Nylon", "Recycled Polyester", "Rubberised Cotton", "PU-Coated Polyester"],
        ["{brand} {who} Waterproof {kind}, {color}", "{brand} {who} {material} {kind} - {color}"],
        [
            "Fully waterproof {lc_material} raincoat with taped seams and an adjustable hood.",
            "A packable {lc_kind} that keeps the rain out; {care_lc}",
        ],
        {
            "kind": [
                "Rain Mac",
                "Hooded Raincoat",
                "Longline Raincoat",
                "Rain Poncho",
                "Trench Raincoat",
            ]
        },
        ("kind", {"Rain Poncho": ["Nylon", "PU-Coated Polyester"]}),
    ),
    LeafSpec(
        "Footwear > Casual Shoes > Sneakers",
        40,
        FOOTWEAR_BRANDS,
        BASIC_COLORS,
        ["Canvas", "Leather", "Suede", "Knit Mesh", "Recycled Polyester"],
        [
            "{brand} {who} {kind} Sneakers, {color}",
            "{brand} {who} {material} {kind} Trainers - {color}",
            "{brand} {who} {kind} Shoes, {color}, Size {size}",
        ],
        [
            "{kind} sneakers with a {lc_material} upper and a cushioned rubber sole.",
            "Lace-up {lc_color} trainers for everyday wear. {shoe_care}",
            "Lightweight {lc_kind} shoe with a padded collar and removable insole.",
        ],
        {
            "kind": [
                "Low-Top",
                "High-Top",
                "Running",
                "Court",
                "Slip-On",
                "Retro Runner",
                "Platform",
                "Skate",
            ],
            "size": ["6", "7", "8", "9", "10", "11", "EU 38", "EU 41", "EU 43"],
        },
    ),
    LeafSpec(
        "Footwear > Casual Shoes > Loafers",
        7,
        FOOTWEAR_BRANDS,
        ["Black", "Tan", "Brown", "Burgundy", "Navy"],
        ["Leather", "Suede", "Patent Leather"],
        [
            "{brand} {who2} {kind} Loafers, {color}",
            "{brand} {who2} {material} {kind} Loafer - {color}",
        ],
        [
            "Slip-on {lc_kind} loafers in {lc_material} with a stacked heel.",
            "Classic {lc_color} loafers with a leather lining.",
        ],
        {"who2": MENS_WOMENS, "kind": ["Penny", "Tassel", "Horsebit", "Driving", "Chunky"]},
    ),
    LeafSpec(
        "Footwear > Boots > Ankle Boots",
        12,
        FOOTWEAR_BRANDS,
        ["Black", "Tan", "Brown", "Taupe", "Oxblood"],
        ["Leather", "Suede", "Faux Suede", "Nubuck"],
        [
            "{brand} {who2} {kind} Ankle Boots, {color}",
            "{brand} {who2} {material} {kind} Boot - {color}",
        ],
        [
            "{kind} ankle boots in {lc_material} with a side zip and grippy sole.",
            "Ankle-height {lc_color} boots with a {heel} heel.",
        ],
        {
            "who2": MENS_WOMENS,
            "kind": ["Chelsea", "Lace-Up", "Western", "Block Heel", "Desert", "Zip"],
            "heel": ["low", "block", "stacked", "2in"],
        },
    ),
    LeafSpec(
        "Footwear > Boots > Hiking Boots",
        10,
        FOOTWEAR_BRANDS + ["Kestrel Gear"],
        ["Brown", "Grey", "Olive", "Black", "Slate"],
        ["Nubuck Leather", "Suede and Mesh", "Full-Grain Leather", "Synthetic"],
        [
            "{brand} {who2} {kind} Hiking Boots, {color}",
            "{brand} {who2} Waterproof {kind} Hiking Boot - {color}",
        ],
        [
            "{kind} hiking boots with a waterproof membrane and a lugged outsole.",
            "Supportive {lc_material} boots for rough trails; padded ankle collar.",
        ],
        {
            "who2": MENS_WOMENS,
            "kind": ["Mid", "High-Cut", "Trekking", "Backpacking", "All-Terrain"],
        },
    ),
    LeafSpec(
        "Footwear > Summer Footwear > Sandals",
        18,
        FOOTWEAR_BRANDS,
        ["Tan", "Black", "Brown", "Sand", "White", "Olive"],
        ["Leather", "Cork and Leather", "Recycled Webbing", "Suede", "EVA Foam"],
        [
            "{brand} {who} {kind} Sandals, {color}",
            "{brand} {who} {material} {kind} Sandal - {color}",
        ],
        [
            "{kind} sandals with adjustable straps and a contoured footbed.",
            "Open-toe {lc_material} sandals with a buckle fastening.",
        ],
        {
            "kind": [
                "Two-Strap",
                "Gladiator",
                "Sport",
                "Cross-Strap",
                "Fisherman",
                "Wedge",
                "Hiking",
            ]
        },
    ),
    LeafSpec(
        "Footwear > Summer Footwear > Flip-Flops",
        11,
        FOOTWEAR_BRANDS,
        ["Black", "Navy", "Coral", "Teal", "White"],
        ["Rubber", "EVA Foam", "Recycled Rubber"],
        [
            "{brand} {who} {kind} Flip-Flops, {color}",
            "{brand} {who} {material} Flip Flops - {color}",
        ],
        [
            "{kind} flip-flops with a toe post and a textured {lc_material} sole.",
            "Lightweight thong-style flip-flops for the beach or pool.",
        ],
        {"kind": ["Classic", "Beach", "Cushioned", "Printed", "Arch Support"]},
    ),
    LeafSpec(
        "Home & Kitchen > Cookware > Frying Pans",
        17,
        COOK_BRANDS,
        COOK_COLORS,
        ["Aluminium", "Cast Iron", "Stainless Steel", "Carbon Steel", "Hard-Anodised Aluminium"],
        [
            "{brand} {size}cm {kind} Frying Pan",
            "{brand} {kind} {material} Skillet, {size}cm, {color}",
            "{brand} {size}cm {material} Frying Pan - {color}",
        ],
        [
            "{size}cm {lc_material} frying pan with a {lc_kind} surface, suitable for all hobs.",
            "Flat-bottomed pan with sloped sides for frying and searing. {pan_care}",
        ],
        {
            "size": ["20", "24", "26", "28", "30", "32"],
            "kind": ["Non-Stick", "Ceramic-Coated", "Pre-Seasoned", "Induction", "Stay-Cool"],
        },
        (
            "kind",
            {
                "Non-Stick": ["Aluminium", "Hard-Anodised Aluminium"],
                "Ceramic-Coated": ["Aluminium"],
                "Pre-Seasoned": ["Cast Iron", "Carbon Steel"],
                "Induction": ["Stainless Steel", "Hard-Anodised Aluminium"],
                "Stay-Cool": ["Stainless Steel"],
            },
        ),
    ),
    LeafSpec(
        "Home & Kitchen > Cookware > Saucepans",
        10,
        COOK_BRANDS,
        COOK_COLORS,
        ["Stainless Steel", "Aluminium", "Copper", "Enamelled Cast Iron"],
        [
            "{brand} {size}cm {material} Saucepan with Lid",
            "{brand} {cap} {kind} Saucepan, {color}",
            "{brand} {size}cm {kind} Saucepan - {color}",
        ],
        [
            "Deep {lc_material} saucepan with a pouring lip and glass lid.",
            "{cap} saucepan for sauces, rice and soups. {pan_care}",
        ],
        {
            "size": ["14", "16", "18", "20"],
            "cap": ["1.5L", "2L", "2.5L", "3L"],
            "kind": ["Non-Stick", "Tri-Ply", "Milk", "Induction"],
        },
        (
            "kind",
            {
                "Non-Stick": ["Aluminium"],
                "Tri-Ply": ["Stainless Steel"],
                "Induction": ["Stainless Steel", "Enamelled Cast Iron"],
            },
        ),
    ),
    LeafSpec(
        "Home & Kitchen > Kitchen Appliances > Kettles",
        12,
        COOK_BRANDS,
        COOK_COLORS,
        ["Stainless Steel", "Glass", "Plastic"],
        ["{brand} {cap} {kind} Electric Kettle, {color}", "{brand} {kind} Kettle {cap} - {color}"],
        [
            "{cap} cordless kettle with a 360 degree base and auto shut-off.",
            "Fast-boil {lc_material} kettle with a limescale filter.",
        ],
        {
            "cap": ["1L", "1.5L", "1.7L"],
            "kind": ["Rapid Boil", "Quiet Boil", "Temperature Control", "Gooseneck", "Retro"],
        },
    ),
    LeafSpec(
        "Home & Kitchen > Kitchen Appliances > Toasters",
        6,
        COOK_BRANDS,
        COOK_COLORS,
        ["Stainless Steel", "Plastic"],
        ["{brand} {slots}-Slice {kind} Toaster, {color}"],
        [
            "{slots}-slice toaster with browning control, defrost and a crumb tray.",
            "{kind} toaster with wide slots for bagels and thick bread.",
        ],
        {"slots": ["2", "4"], "kind": ["Long Slot", "Retro", "Brushed Steel", "Compact"]},
    ),
    LeafSpec(
        "Electronics > Audio > Headphones",
        24,
        AUDIO_BRANDS,
        TECH_COLORS,
        ["Plastic", "Aluminium", "Plastic and Protein Leather"],
        [
            "{brand} {kind} Over-Ear Headphones, {color}",
            "{brand} {model} {kind} Headphones - {color}",
            "{brand} {model} On-Ear Headphones, {color}",
        ],
        [
            "{kind} over-ear headphones with {hours} hours of battery and memory-foam cushions.",
            "Closed-back headphones with a {lc_kind} design and folding headband.",
            "Around-ear headphones with a detachable 3.5mm cable and carry case.",
        ],
        {
            "kind": [
                "Wireless Noise Cancelling",
                "Bluetooth",
                "Studio Monitor",
                "Wired",
                "Gaming",
                "Kids' Volume-Limited",
            ],
            "model": ["H300", "Arc 2", "Pulse", "Studio 7", "Quiet One", "Halo"],
            "hours": ["20", "30", "40", "60"],
        },
    ),
    LeafSpec(
        "Electronics > Audio > Earbuds",
        22,
        AUDIO_BRANDS,
        TECH_COLORS,
        ["Plastic", "Silicone"],
        [
            "{brand} {model} True Wireless Earbuds, {color}",
            "{brand} {kind} In-Ear Earbuds - {color}",
            "{brand} {model} {kind} Earbuds with Charging Case",
        ],
        [
            "In-ear {lc_kind} earbuds with silicone tips in three sizes; {hours} hours with the case.",
            "Compact true wireless earbuds with touch controls and a pocket-sized charging case.",
        ],
        {
            "kind": ["Noise Cancelling", "Sport", "Bluetooth 5.3", "Sleep", "Budget", "Open-Fit"],
            "model": ["Pods Mini", "Buds 2", "E5", "Air Lite", "Nano", "Flow"],
            "hours": ["18", "24", "30", "36"],
        },
    ),
    LeafSpec(
        "Electronics > Audio > Speakers",
        14,
        AUDIO_BRANDS,
        TECH_COLORS,
        ["Plastic", "Fabric and Aluminium", "Wood"],
        ["{brand} {model} {kind} Speaker, {color}", "{brand} {kind} Bluetooth Speaker - {color}"],
        [
            "{kind} speaker with {hours} hours of playtime and a built-in microphone.",
            "Room-filling sound from a compact {lc_material} cabinet.",
        ],
        {
            "kind": ["Portable", "Waterproof", "Smart", "Bookshelf", "Party", "Mini"],
            "model": ["Boom 3", "Stone", "Cube", "Drift", "Roam"],
            "hours": ["10", "12", "20"],
        },
    ),
    LeafSpec(
        "Electronics > Phone Accessories > Phone Cases",
        20,
        PHONE_BRANDS,
        TECH_COLORS + ["Clear"],
        ["Silicone", "TPU", "Leather", "Polycarbonate", "Recycled Plastic"],
        ["{brand} {kind} Case for {phone}, {color}", "{brand} {phone} {material} Case - {color}"],
        [
            "{kind} phone case with raised edges to protect the screen and camera.",
            "Slim {lc_material} case that works with wireless charging.",
        ],
        {
            "kind": ["Rugged", "Wallet", "Slim", "MagSafe-Compatible", "Glitter", "Shockproof"],
            "phone": [
                "Pixel 8",
                "Galaxy S23",
                "iPhone 14",
                "iPhone 15 Pro",
                "Galaxy A54",
                "Moto G84",
            ],
        },
        (
            "kind",
            {
                "Rugged": ["TPU", "Polycarbonate"],
                "Wallet": ["Leather"],
                "Slim": ["Polycarbonate", "Silicone", "Recycled Plastic"],
                "MagSafe-Compatible": ["Silicone", "TPU", "Leather"],
                "Glitter": ["TPU"],
                "Shockproof": ["TPU", "Silicone"],
            },
        ),
    ),
    LeafSpec(
        "Electronics > Phone Accessories > Chargers",
        11,
        PHONE_BRANDS,
        ["Black", "White"],
        ["Plastic", "Aluminium"],
        [
            "{brand} {watts}W {kind} Charger, {color}",
            "{brand} {kind} Charger {watts}W with USB-C Cable",
        ],
        [
            "{watts}W {lc_kind} charger with over-heat protection.",
            "Fast-charging phone charger; cable included.",
        ],
        {
            "watts": ["15", "20", "30", "45", "65"],
            "kind": ["USB-C Wall", "Wireless Pad", "Dual-Port", "Car", "GaN"],
        },
    ),
    LeafSpec(
        "Bags & Luggage > Bags > Backpacks",
        22,
        BAG_BRANDS,
        BASIC_COLORS,
        ["Canvas", "Nylon", "Recycled Polyester", "Waxed Canvas", "Ripstop"],
        ["{brand} {cap} {kind} Backpack, {color}", "{brand} {kind} {material} Rucksack - {color}"],
        [
            "{cap} {lc_kind} backpack with padded straps and a front zip pocket.",
            "Everyday {lc_material} backpack with a water bottle pocket.",
        ],
        {
            "cap": ["15L", "20L", "25L", "30L"],
            "kind": ["Daypack", "Roll-Top", "School", "Hiking", "Mini", "Drawstring"],
        },
    ),
    LeafSpec(
        "Bags & Luggage > Bags > Laptop Bags",
        12,
        BAG_BRANDS,
        ["Black", "Grey", "Navy", "Tan"],
        ["Nylon", "Leather", "Polyester", "Canvas"],
        [
            "{brand} {size}in {kind} Laptop Bag, {color}",
            "{brand} {kind} {material} Laptop Case - {color}",
        ],
        [
            "Padded laptop compartment for screens up to {size} inches, with a shoulder strap.",
            "{kind} laptop bag in {lc_material} with an organiser panel.",
        ],
        {
            "size": ["13", "14", "15.6", "16", "17"],
            "kind": ["Messenger", "Briefcase", "Sleeve", "Shoulder", "Slim"],
        },
    ),
    LeafSpec(
        "Bags & Luggage > Bags > Tote Bags",
        9,
        BAG_BRANDS,
        BASIC_COLORS,
        ["Cotton Canvas", "Jute", "Leather", "Nylon"],
        ["{brand} {kind} Tote Bag, {color}", "{brand} {material} {kind} Tote - {color}"],
        [
            "Open-top {lc_material} tote with long handles and an inner pocket.",
            "{kind} tote for shopping, beach days and errands.",
        ],
        {"kind": ["Shopper", "Beach", "Zip-Top", "Market", "Oversized"]},
    ),
    LeafSpec(
        "Sports & Outdoors > Fitness > Yoga Mats",
        10,
        SPORT_BRANDS,
        BASIC_COLORS,
        ["TPE", "Natural Rubber", "Cork", "PVC"],
        [
            "{brand} {thick} {kind} Yoga Mat, {color}",
            "{brand} {material} Yoga Mat {thick} - {color}",
        ],
        [
            "{thick} {lc_material} yoga mat with a non-slip texture and carry strap.",
            "{kind} mat for yoga, pilates and floor workouts.",
        ],
        {
            "thick": ["4mm", "6mm", "8mm", "10mm"],
            "kind": ["Non-Slip", "Travel", "Extra Thick", "Alignment"],
        },
    ),
    LeafSpec(
        "Sports & Outdoors > Fitness > Dumbbells",
        6,
        SPORT_BRANDS,
        ["Black", "Grey", "Pink"],
        ["Cast Iron", "Neoprene-Coated Iron", "Rubber-Coated Steel"],
        [
            "{brand} {weight}kg {kind} Dumbbells, Pair",
            "{brand} {kind} Dumbbell {weight}kg - {color}",
        ],
        [
            "{weight}kg {lc_kind} dumbbells with knurled grips.",
            "A pair of {lc_material} weights for home strength training.",
        ],
        {"weight": ["2", "5", "8", "10", "12.5"], "kind": ["Hex", "Neoprene", "Adjustable"]},
        (
            "kind",
            {"Hex": ["Cast Iron", "Rubber-Coated Steel"], "Neoprene": ["Neoprene-Coated Iron"]},
        ),
    ),
    LeafSpec(
        "Sports & Outdoors > Camping > Tents",
        8,
        SPORT_BRANDS,
        ["Green", "Orange", "Grey", "Sand"],
        ["Polyester", "Nylon Ripstop"],
        ["{brand} {people}-Person {kind} Tent, {color}"],
        [
            "{people}-person {lc_kind} tent with a waterproof flysheet and sewn-in groundsheet.",
            "Quick-pitch tent that packs down small; pegs and bag included.",
        ],
        {
            "people": ["1", "2", "3", "4"],
            "kind": ["Dome", "Backpacking", "Pop-Up", "Tunnel", "Geodesic"],
        },
    ),
    LeafSpec(
        "Sports & Outdoors > Camping > Sleeping Bags",
        5,
        SPORT_BRANDS,
        ["Navy", "Red", "Olive"],
        ["Polyester Fill", "Down Fill"],
        ["{brand} {season} {kind} Sleeping Bag, {color}"],
        ["{season} {lc_kind} sleeping bag with a two-way zip and compression sack."],
        {
            "season": ["2-Season", "3-Season", "4-Season"],
            "kind": ["Mummy", "Rectangular", "Kids'", "Double"],
        },
    ),
    LeafSpec(
        "Beauty & Personal Care > Skin Care > Moisturizers",
        13,
        BEAUTY_BRANDS,
        [""],
        [""],
        ["{brand} {kind} {form}, {ml}ml", "{brand} {kind} Moisturizer for {skin} Skin, {ml}ml"],
        [
            "{kind} {lc_form} for {lc_skin} skin, with {ingredient}.",
            "Lightweight daily moisturiser that absorbs quickly; fragrance-free.",
        ],
        {
            "kind": ["Hydrating", "Oil-Free", "Barrier Repair", "Night", "Rich"],
            "form": ["Face Cream", "Gel Cream", "Lotion", "Moisturizer"],
            "skin": ["Dry", "Oily", "Sensitive", "Combination", "All"],
            "ingredient": [
                "hyaluronic acid",
                "ceramides",
                "squalane",
                "niacinamide",
                "shea butter",
            ],
            "ml": ["30", "50", "75", "100"],
        },
    ),
    LeafSpec(
        "Beauty & Personal Care > Skin Care > Sunscreen",
        8,
        BEAUTY_BRANDS,
        [""],
        [""],
        ["{brand} SPF {spf} {kind} Sunscreen, {ml}ml", "{brand} {kind} Sun Cream SPF {spf}"],
        [
            "Broad-spectrum SPF {spf} {lc_kind} sunscreen, water resistant for 80 minutes.",
            "High-protection sun cream for face and body; reapply after swimming.",
        ],
        {
            "spf": ["30", "50", "50+"],
            "kind": ["Mineral", "Sport", "Kids'", "Invisible Gel", "Face Fluid"],
            "ml": ["50", "100", "200"],
        },
    ),
    LeafSpec(
        "Beauty & Personal Care > Hair Care > Shampoo",
        11,
        BEAUTY_BRANDS,
        [""],
        [""],
        ["{brand} {kind} Shampoo, {ml}ml", "{brand} {kind} Shampoo for {hair} Hair"],
        [
            "{kind} shampoo for {lc_hair} hair, with {ingredient}.",
            "Sulphate-free shampoo that cleans gently without stripping.",
        ],
        {
            "kind": [
                "Volumising",
                "Anti-Dandruff",
                "Moisture",
                "Clarifying",
                "Colour Care",
                "Curl Defining",
            ],
            "hair": ["Fine", "Curly", "Dry", "Coloured", "Oily"],
            "ingredient": ["argan oil", "tea tree", "oat extract", "keratin", "aloe"],
            "ml": ["250", "300", "500"],
        },
    ),
    LeafSpec(
        "Beauty & Personal Care > Hair Care > Hair Dryers",
        5,
        BEAUTY_BRANDS,
        ["Black", "White", "Rose Gold"],
        ["Plastic"],
        ["{brand} {watts}W {kind} Hair Dryer, {color}"],
        ["{watts}W {lc_kind} hair dryer with three heat settings and a cool shot button."],
        {
            "watts": ["1800", "2000", "2200", "2400"],
            "kind": ["Ionic", "Travel", "Diffuser", "Compact", "Salon"],
        },
    ),
]

CARE = [
    "Machine washable at 30C.",
    "Wash inside out.",
    "Tumble dry low.",
    "Machine wash cold with similar colours.",
    "Hand wash recommended.",
]
SHOE_CARE = ["Wipe clean with a damp cloth.", "Half sizes: size up.", "Comes in a recycled box."]
PAN_CARE = [
    "Dishwasher safe.",
    "Oven safe to 220C.",
    "Hand wash to keep the coating.",
    "Works on induction.",
]

# Products that sit on a boundary between two leaves (kept unlabelled). The last field names the
# leaves a reviewer might reasonably pick; it is not written to the CSV.
AMBIGUOUS: list[tuple[str, str, str, str, str, tuple[str, ...]]] = [
    (
        "Kestrel Gear Canvas Laptop Backpack, 15.6in, Olive",
        "Roll-top canvas backpack with a padded sleeve for laptops up to 15.6 inches.",
        "Kestrel Gear",
        "Olive",
        "Canvas",
        ("Backpacks", "Laptop Bags"),
    ),
    (
        "Ridgeway Supply Convertible Messenger Backpack, Black",
        "Carry it as a messenger bag or a backpack; padded 14in laptop pocket.",
        "Ridgeway Supply",
        "Black",
        "Nylon",
        ("Laptop Bags", "Backpacks"),
    ),
    (
        "Canvasory Quilted Tote with Padded Laptop Sleeve, Navy",
        "Zip-top tote with a quilted sleeve that fits a 13in laptop.",
        "Canvasory",
        "Navy",
        "Nylon",
        ("Tote Bags", "Laptop Bags"),
    ),
    (
        "Pebblewave Rubber Slide Sandals, Black",
        "Single-strap slides with a moulded rubber footbed for pool and beach.",
        "Pebblewave",
        "Black",
        "Rubber",
        ("Sandals", "Flip-Flops"),
    ),
    (
        "Stridewell Women's Toe-Post Leather Sandals, Tan",
        "Thong sandals with a leather toe post and an ankle strap.",
        "Stridewell",
        "Tan",
        "Leather",
        ("Sandals", "Flip-Flops"),
    ),
    (
        "Voltrek Wireless Neckband Earphones, Graphite",
        "In-ear buds joined by a flexible neckband; 16 hours of battery.",
        "Voltrek",
        "Graphite",
        "Plastic",
        ("Earbuds", "Headphones"),
    ),
    (
        "Soundmoss Open-Ear Sport Headphones, Coral",
        "Bone-conduction headset that rests in front of the ears, leaving them open.",
        "Soundmoss",
        "Coral",
        "Titanium",
        ("Headphones", "Earbuds"),
    ),
    (
        "Northwind Men's Long Sleeve Henley Top, Oatmeal",
        "Jersey henley with a three-button placket; somewhere between a tee and a shirt.",
        "Northwind",
        "Oatmeal",
        "Cotton",
        ("T-Shirts", "Shirts"),
    ),
    (
        "Harbor Lane Women's Knitted Polo Shirt, Navy",
        "Fine-knit polo with a collar and short sleeves; wear it as a light sweater.",
        "Harbor Lane",
        "Navy",
        "Cotton",
        ("Shirts", "Sweaters", "T-Shirts"),
    ),
    (
        "Velvra Women's Pleated Tennis Skort, White",
        "A pleated skirt over built-in shorts, cut for the court.",
        "Velvra",
        "White",
        "Polyester",
        ("Skirts", "Shorts"),
    ),
    (
        "Pinecrest Unisex Water-Resistant Shell Jacket, Yellow",
        "Light hooded shell that sheds showers; packs into its own pocket.",
        "Pinecrest",
        "Yellow",
        "Nylon",
        ("Jackets", "Raincoats"),
    ),
    (
        "Trailmere Men's Waterproof Hiking Sneakers, Slate",
        "Low-cut trail shoes with a waterproof lining and lugged sole.",
        "Trailmere",
        "Slate",
        "Suede and Mesh",
        ("Sneakers", "Hiking Boots"),
    ),
    (
        "Kettle & Co. 28cm Deep Saute Pan with Lid, Graphite",
        "Straight-sided pan that fries, braises and simmers sauces.",
        "Kettle & Co.",
        "Graphite",
        "Aluminium",
        ("Frying Pans", "Saucepans"),
    ),
    (
        "Dewmere Tinted Moisturizer SPF 30, 50ml",
        "Sheer tinted day cream with broad-spectrum SPF 30.",
        "Dewmere",
        "",
        "",
        ("Moisturizers", "Sunscreen"),
    ),
]

# Products that fit no leaf of the taxonomy (kept unlabelled), for novelty detection.
NOVEL: list[tuple[str, str, str, str, str]] = [
    (
        "Maple & Moss Bamboo Plant Pot with Drainage Tray, 18cm",
        "Indoor planter made from bamboo fibre, with a removable saucer.",
        "Maple & Moss",
        "Natural",
        "Bamboo Fibre",
    ),
    (
        "Hearthmade Fig & Cedar Scented Candle, 200g",
        "Soy wax candle in a ceramic jar; about 40 hours of burn time.",
        "Hearthmade",
        "Cream",
        "Soy Wax",
    ),
    (
        "Oakhaven Stainless Steel Dog Water Bowl, Large",
        "Non-slip pet bowl with a rubber base, holds 1.8 litres.",
        "Oakhaven",
        "Silver",
        "Stainless Steel",
    ),
    (
        "Bramblewood Kids' Wooden Stacking Puzzle",
        "Ten painted wooden shapes to sort and stack, for ages 2 and up.",
        "Bramblewood",
        "Multicolour",
        "Beech Wood",
    ),
    (
        "Ironpine 18V Cordless Drill Driver with 2 Batteries",
        "Two-speed drill driver with LED work light and carry case.",
        "Ironpine",
        "Orange",
        "Plastic",
    ),
    (
        "Lumenfield Watercolour Paint Set, 24 Half Pans",
        "Artist watercolours in a metal tin with a travel brush.",
        "Lumenfield",
        "",
        "Metal",
    ),
]


@dataclass(frozen=True)
class Product:
    title: str
    description: str
    brand: str
    color: str
    material: str
    true_path: str | None  # the leaf it was generated for; None for out-of-taxonomy products
    kind: str  # "regular", "ambiguous" or "novel"


def leaf_paths() -> list[str]:
    paths = [path for _, path in TAXONOMY]
    return [p for p in paths if not any(q.startswith(p + " > ") for q in paths)]


def _leaf_by_name(name: str) -> str:
    matches = [p for p in leaf_paths() if p.rsplit(" > ", 1)[-1] == name]
    assert len(matches) == 1, name
    return matches[0]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _prose(text: str) -> str:
    """Lower-case for running text, keeping acronyms and brand-like words: "PU-coated", "EVA"."""

    def part(word: str) -> str:
        return word if any(ch.isupper() for ch in word[1:]) else word.lower()

    return " ".join("-".join(part(p) for p in word.split("-")) for word in text.split(" "))


def _render(spec: LeafSpec, rng: random.Random) -> Product:
    values = {slot: rng.choice(choices) for slot, choices in spec.slots.items()}
    values.setdefault("who", rng.choice(WHO))
    brand = rng.choice(spec.brands)
    color = rng.choice(spec.colors)
    material = rng.choice(spec.materials)
    if spec.material_by is not None:
        slot, by_value = spec.material_by
        material = rng.choice(by_value.get(values[slot], spec.materials))
    for slot in list(spec.slots):
        values[f"lc_{slot}"] = values[f"{slot}l"] = values[f"{slot}_lc"] = _prose(values[slot])
    fit = values.get("fit", "Regular Fit")
    care = rng.choice(CARE)
    values.update(
        brand=brand,
        color=color,
        material=material,
        lc_color=_prose(color),
        lc_material=_prose(material),
        fitl=fit.lower().replace(" fit", ""),
        fitl_cap=fit.replace(" Fit", ""),
        care=care,
        care_lc=_lower_first(care),
        shoe_care=rng.choice(SHOE_CARE),
        pan_care=rng.choice(PAN_CARE),
    )
    title = " ".join(rng.choice(spec.titles).format(**values).split())
    # In running text, word-like slot values are lower-cased ("two-strap sandals"); names and
    # measurements ("iPhone 14", "1.5L") are left alone.
    prose = dict(values)
    for slot in spec.slots:
        if slot != "phone" and not any(ch.isdigit() for ch in values[slot]):
            prose[slot] = _prose(values[slot])
    description = " ".join(rng.choice(spec.descriptions).format(**prose).split())
    description = re.sub(r"\b([Aa]) ([aeiou])", r"\1n \2", description)
    description = description[:1].upper() + description[1:]
    # Real catalogs have gaps: leave some colour and material cells empty.
    if rng.random() < 0.08:
        color = ""
    if rng.random() < 0.15:
        material = ""
    return Product(title, description, brand, color, material, spec.path, "regular")


def build_products(seed: int = SEED) -> list[tuple[str, Product, bool]]:
    """Return (id, product, labelled) in CSV order. Deterministic for a given seed."""
    rng = random.Random(seed)
    seen: set[str] = set()
    products: list[tuple[Product, bool]] = []
    for spec in LEAVES:
        batch = []
        for _ in range(spec.count):
            for _attempt in range(30):  # retry so that titles are (almost always) unique
                product = _render(spec, rng)
                if product.title not in seen:
                    break
            seen.add(product.title)
            batch.append(product)
        n_labelled = max(MIN_LABELLED_PER_LEAF, round(LABELLED_SHARE * spec.count))
        labelled = set(rng.sample(range(spec.count), n_labelled))
        products.extend((p, i in labelled) for i, p in enumerate(batch))
    for title, desc, brand, color, material, leaves in AMBIGUOUS:
        product = Product(
            title, desc, brand, color, material, _leaf_by_name(leaves[0]), "ambiguous"
        )
        products.append((product, False))
    for title, desc, brand, color, material in NOVEL:
        products.append((Product(title, desc, brand, color, material, None, "novel"), False))
    rng.shuffle(products)
    return [
        (f"P{i:04d}", product, labelled) for i, (product, labelled) in enumerate(products, start=1)
    ]


def taxonomy_text() -> str:
    lines = [TAXONOMY_HEADER] + [f"{node_id} - {path}" for node_id, path in TAXONOMY]
    return "\n".join(lines) + "\n"


def catalog_text(seed: int = SEED) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for product_id, p, labelled in build_products(seed):
        category = p.true_path if labelled else ""
        writer.writerow(
            [product_id, p.title, p.description, p.brand, p.color, p.material, category]
        )
    return buffer.getvalue()


def main() -> int:
    TAXONOMY_FILE.write_text(taxonomy_text(), encoding="ascii")
    CATALOG_FILE.write_text(catalog_text(), encoding="ascii")
    rows = build_products()
    labelled = sum(1 for _, _, is_labelled in rows if is_labelled)
    print(f"wrote {TAXONOMY_FILE.name}: {len(TAXONOMY)} nodes, {len(leaf_paths())} leaves")
    print(
        f"wrote {CATALOG_FILE.name}: {len(rows)} rows, {labelled} labelled "
        f"({labelled / len(rows):.1%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
