"""Turn proton-inputs.json into the outputs of the starter environment (a list of key/valueString)."""

import json

with open("proton-inputs.json", encoding="utf-8") as f:
    inputs = json.load(f)["environment"]["inputs"]

outputs = {
    "network_name": inputs["network_name"],
    "network_id": "net-" + inputs["network_name"],
    "capacity": str(int(inputs["replicas"]) * {"small": 1, "medium": 2, "large": 4}[inputs["size"]]),
}
print(json.dumps([{"key": k, "valueString": v} for k, v in sorted(outputs.items())]))
