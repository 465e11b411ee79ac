//! The expression modules used together the way a Pass/Choice loop uses them: Parameters
//! rendered with intrinsics, placed with ResultPath, tested with a Choice rule, selected with
//! OutputPath.
use brokeros_sfn::choice::ChoiceRule;
use brokeros_sfn::{path, payload};
use serde_json::{Value, json};

#[test]
fn a_counting_loop_runs_to_its_limit() -> Result<(), Box<dyn std::error::Error>> {
    let context = json!({ "Execution": { "Id": "exec-1" } });
    let init = json!({ "i": 0, "limit": 25 });
    let increment = json!({ "i.$": "States.MathAdd($.loop.i, 1)", "limit.$": "$.loop.limit" });
    let label = json!({ "text.$": "States.Format('step {} of {}', $.loop.i, $.loop.limit)" });
    let again = ChoiceRule::parse(&json!({
        "And": [
            { "Variable": "$.loop.i", "IsNumeric": true },
            { "Variable": "$.loop.i", "NumericLessThanPath": "$.loop.limit" }
        ],
        "Next": "Increment"
    }))?;
    for template in [&init, &increment, &label] {
        payload::validate_template(template)?;
    }

    let mut state = json!({ "orderId": "o-1" });
    let rendered = payload::render(&init, &state, &context)?;
    state = path::apply_result_path(state, "$.loop", rendered)?;
    let mut rounds = 0;
    loop {
        let rendered = payload::render(&increment, &state, &context)?;
        state = path::apply_result_path(state, "$.loop", rendered)?;
        let rendered = payload::render(&label, &state, &context)?;
        state = path::apply_result_path(state, "$.label", rendered)?;
        rounds += 1;
        if !again.matches(&state, &context)? {
            break;
        }
    }

    assert_eq!(rounds, 25);
    assert_eq!(state["label"], json!({ "text": "step 25 of 25" }));
    assert_eq!(state["orderId"], json!("o-1"));
    assert_eq!(
        path::select("$.loop", &state, &Value::Null)?,
        json!({ "i": 25, "limit": 25 })
    );
    Ok(())
}
