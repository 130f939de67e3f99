"""Starting points for step 2 of the wizard when the seller does not import a flow."""

from __future__ import annotations

from typing import Any

TEMPLATES: dict[str, dict[str, Any]] = {
    "blank": {
        "description": "Start from the category's defaults only.",
        "capabilities": {},
        "listing": {},
        "plans": [],
    },
    "customer_support": {
        "description": "A support agent that answers from the buyer's knowledge base and hands off to humans.",
        "capabilities": {
            "category": "agent",
            "subcategory": {"agent": "single"},
            "tags": ["support"],
            "interfaces": {"integrations": {"enabled": True, "platforms": ["slack", "email"]}},
            "configuration": {
                "conversation": {
                    "enabled": True,
                    "options": {
                        "welcomeMessage": True,
                        "suggestedPrompts": True,
                        "fallbackMessage": True,
                        "handoffMessage": True,
                        "feedbackRequest": True,
                    },
                },
                "branding": {"enabled": True, "options": {"logo": True, "colors": True}},
            },
            "analytics": {"insights": {"enabled": True, "features": {"topics": True, "satisfaction": True}}},
        },
        "listing": {
            "name": "Customer Support Agent",
            "tags": ["support", "customer-service"],
            "short_description": "Answers customer questions from your own documents, around the clock.",
        },
        "plans": [
            {"name": "Starter", "tier": "starter", "priceMonthly": "29", "priceYearly": "290"},
            {"name": "Pro", "tier": "pro", "priceMonthly": "99", "priceYearly": "990"},
        ],
    },
    "sales_assistant": {
        "description": "An assistant that drafts outreach and answers product questions for sales teams.",
        "capabilities": {
            "category": "assistant",
            "subcategory": {"assistant": "writer"},
            "tags": ["sales"],
            "interfaces": {"integrations": {"enabled": True, "platforms": ["slack", "teams"]}},
        },
        "listing": {
            "name": "Sales Assistant",
            "tags": ["sales", "outreach"],
            "short_description": "Drafts personalised outreach and follow-ups in your brand's voice.",
        },
        "plans": [{"name": "Starter", "tier": "starter", "priceMonthly": "19", "priceYearly": "190"}],
    },
    "faq_bot": {
        "description": "A widget that answers frequently asked questions from an uploaded Q&A file.",
        "capabilities": {
            "category": "agent",
            "subcategory": {"agent": "single"},
            "tags": ["support", "general"],
            "configuration": {
                "knowledge": {"enabled": True, "sources": {"qaFiles": True}},
                "rag": {"grounding": {"strictMode": True, "fallback": "refuse"}},
            },
        },
        "listing": {
            "name": "FAQ Bot",
            "tags": ["faq", "support"],
            "short_description": "Answers your customers' frequently asked questions, and only those.",
        },
        "plans": [{"name": "Starter", "tier": "starter", "priceMonthly": "9", "priceYearly": "90"}],
    },
}
