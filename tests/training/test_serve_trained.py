"""The trained output directory is a model `transformers serve` runs as is (LoRA merged, sampling kept)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from r1lab.training import SFTRecipe, load_recipe, train_sft


@pytest.mark.slow
@pytest.mark.server
def test_lora_sft_output_is_served_by_transformers_serve(task_overrides):
    pytest.importorskip("peft")
    from r1lab.generation import serve_model

    recipe = load_recipe(
        SFTRecipe,
        overrides=task_overrides(
            box_answer=True, use_peft=True, lora_r=4, max_steps=1, per_device_train_batch_size=4
        ),
    )
    out = train_sft(recipe).output_dir
    with serve_model(out) as server:
        body = json.dumps(
            {
                "model": server.model,
                "messages": [{"role": "user", "content": "What is 12+34?"}],
                "max_tokens": 8,
            }
        ).encode()
        request = urllib.request.Request(
            server.base_url + "/chat/completions", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            reply = json.loads(response.read())
    assert isinstance(reply["choices"][0]["message"]["content"], str)
