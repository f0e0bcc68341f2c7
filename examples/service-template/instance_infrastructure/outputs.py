"""Turn proton-inputs.json into the outputs of one starter service instance."""

import json

with open("proton-inputs.json", encoding="utf-8") as f:
    inputs = json.load(f)

instance = inputs["service_instance"]
environment = inputs["environment"]
outputs = {
    "url": f"http://{instance['name']}.{environment['name']}.example:{instance['inputs']['port']}",
    "message": instance["inputs"]["message"],
}
print(json.dumps([{"key": k, "valueString": str(v)} for k, v in sorted(outputs.items())]))
