/**
 * Message templates. `{order}`, `{amount}`, `{days}`, `{plan}`, `{item}`, `{percent}`, `{name}`
 * are filled per conversation. The marker lists (NEGATIVE_MARKERS, DIAGNOSTIC_QUESTIONS,
 * HESITATIONS) are exported because the planted effects are defined by them: tests and feature
 * code can find the causes in the text without the ground-truth labels.
 */

export const intents = ['order_status', 'refund', 'cancellation', 'billing', 'technical', 'upgrade'] as const;
export type Intent = (typeof intents)[number];
export const intentWeights: Record<Intent, number> = { order_status: 26, refund: 16, cancellation: 16, billing: 14, technical: 16, upgrade: 12 };

export const openers: Record<Intent, readonly string[]> = {
  order_status: [
    'Hi, where is my order {order}? It was supposed to arrive {days} days ago.',
    'Hello, can you tell me the status of order {order}?',
    'My package {order} still shows "processing". When will it ship?',
    'Tracking for {order} has not updated in {days} days.',
  ],
  refund: [
    'I returned the {item} {days} days ago and have not seen my refund of {amount} yet.',
    'Hi, I would like a refund for order {order}, the {item} arrived damaged.',
    'How long does a refund take? I sent back order {order}.',
  ],
  cancellation: [
    'I want to cancel my {plan} subscription.',
    'Hi, how do I cancel my membership? I do not use it much anymore.',
    'Please cancel my {plan} plan before the next renewal.',
  ],
  billing: [
    'I was charged {amount} twice this month.',
    'Why is my bill {amount} higher than usual?',
    'There is a charge of {amount} on my statement I do not recognise.',
  ],
  technical: [
    'The app keeps logging me out when I open my orders.',
    'I cannot reset my password, the link in the email does not work.',
    'Checkout fails with an error every time I try to pay.',
  ],
  upgrade: [
    'What is the difference between the {plan} plan and Premium?',
    'I am thinking about upgrading to Premium, what does it cost?',
    'Do you have a better deal on the annual plan?',
  ],
};

/** Negative-tone customers prefix or replace their lines with these. */
export const NEGATIVE_MARKERS = ['ridiculous', 'frustrated', 'unacceptable', 'terrible', 'worst', 'angry'] as const;
export const negativePrefixes = [
  'This is ridiculous. ',
  'I am really frustrated. ',
  'Honestly this is unacceptable. ',
  'Terrible service so far. ',
  'Worst experience ever. ',
  'I am angry about this. ',
] as const;
export const positivePrefixes = ['Hi there, hope you are well! ', 'Thanks for your help in advance. ', 'Good morning :) '] as const;

export const customerFollowUps = [
  'Sure, one moment.',
  'It is order {order}.',
  'I placed it on the website last week.',
  'I already tried that.',
  'OK, and how long will that take?',
  'The email on the account is the same as always.',
  'Yes, that is right.',
  'No, nothing changed on my side.',
  'Can you check again please?',
  'I see, thanks.',
] as const;
export const negativeFollowUps = [
  'This is ridiculous, I have been waiting for ages.',
  'I am frustrated, nobody told me anything.',
  'That is unacceptable.',
  'Terrible. Why does this always happen?',
  'I am angry, this is the third time I contact you.',
] as const;
export const customerClosings = ['Thanks, that helps.', 'OK thank you.', 'Great, thanks a lot!', 'Alright.', 'Fine.'] as const;
export const negativeClosings = ['Whatever. This was the worst support ever.', 'Still frustrated, but fine.'] as const;
export const customerStillWaiting = ['Hello? Is anyone there?', 'Still waiting...', 'Hello??'] as const;

/** A sales-conversation customer hesitates with one of these; the discount belongs right after. */
export const HESITATIONS = [
  'Hmm, I am not sure it is worth the price.',
  'Let me think about it, it is a bit expensive.',
  'I do not know, {amount} a month is a lot for me.',
  'I might just go with another provider.',
] as const;

export const csrGreetings = [
  'Hi, my name is {name}, thanks for reaching out.',
  'Hello, this is {name}. I am sorry for the wait.',
  'Hi! {name} here, I will take care of this.',
  'Good day, this is {name} from customer support.',
] as const;

/** Diagnostic questions: asked early, they raise resolution (PLANTED_EFFECTS.earlyDiagnostic). */
export const DIAGNOSTIC_QUESTIONS = [
  'Could you tell me the order number and the email on the account?',
  'What exactly do you see on the screen when it fails?',
  'When did you first notice the problem?',
  'Which device and app version are you using?',
  'Can you describe what happened step by step?',
] as const;

export const csrWorking: Record<Intent, readonly string[]> = {
  order_status: ['I can see order {order} left our warehouse yesterday.', 'The carrier has it; expected delivery is in {days} days.', 'I have asked the warehouse to prioritise it.'],
  refund: ['I can see the return arrived.', 'I have started the refund of {amount}; it takes 3 to 5 business days.', 'I have escalated the refund to our finance team.'],
  cancellation: ['I can help with that.', 'Your {plan} plan renews on the 1st.', 'I have scheduled the cancellation.'],
  billing: ['I see two charges of {amount}.', 'One of them is a pre-authorisation that will drop off.', 'I have reversed the duplicate charge.'],
  technical: ['Please update the app to the latest version.', 'I have reset your session on our side.', 'Try clearing the cache and logging in again.'],
  upgrade: ['Premium includes free delivery and priority support.', 'The annual plan is two months cheaper than monthly.', 'You can switch at any time.'],
};
export const csrChecking = ['Let me check that for you.', 'One moment please, I am looking into it.', 'Thanks, checking now.'] as const;
export const csrApologies = ['I am very sorry about this.', 'I understand, and I apologise for the trouble.'] as const;
export const csrResolved = ['All done, this is fixed now. Anything else I can help with?', 'That is sorted. Is there anything else?'] as const;
export const csrUnresolved = [
  'I could not fix this today; I have opened a case and we will email you.',
  'I have passed this to the specialist team; they will contact you.',
] as const;
export const csrStillThere = ['Are you still there?', 'I have not heard back, I will close this chat for now.'] as const;
export const csrGoodbye = ['Thanks for contacting us, have a nice day!', 'Take care, bye!'] as const;
export const discountOffers = [
  'I can offer you {percent}% off the next three months if you stay.',
  'As a thank you, here is a {percent}% discount on the {plan} plan.',
] as const;
export const acceptances = ['OK, that sounds fair, I will take it.', 'Deal, please apply the discount.', 'Alright, let us do that.'] as const;
export const purchases = ['OK, I will go ahead anyway.', 'Fine, sign me up.'] as const;
export const declines = ['No thanks, please just cancel.', 'I will pass for now.'] as const;

export const ivrPrompts = [
  'Welcome to Acme. For orders press 1, for billing press 2, for anything else press 3.',
  'Thank you for calling Acme support. Please tell us briefly why you are calling.',
] as const;
export const ivrChatOffer = 'We will text you a link to continue this conversation in chat: {link}';
export const imageNames = ['screenshot.png', 'damaged-box.jpg', 'error.png', 'receipt.jpg'] as const;
export const csrNames = ['Alex', 'Sam', 'Maria', 'Jonas', 'Priya', 'Chen', 'Fatima', 'Luca', 'Ana', 'Tom'] as const;
export const planNames = ['Basic', 'Plus', 'Family', 'Student'] as const;
export const itemNames = ['headphones', 'jacket', 'coffee maker', 'phone case', 'backpack', 'desk lamp'] as const;
