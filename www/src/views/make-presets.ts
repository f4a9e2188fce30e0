//! The Make view's example concepts: a name and short texts that show it, one per line.

export interface Preset {
  name: string;
  texts: string[];
}

export const PRESETS: Preset[] = [
  {
    name: "pirate talk",
    texts: [
      "Arr, me hearties! Hoist the Jolly Roger and set sail for the treasure, ye scallywags!",
      "Shiver me timbers, the captain buried his gold on a cursed island, matey.",
      "Avast, ye landlubber! Swab the poop deck or ye'll walk the plank, arr!",
      "Yo ho ho and a bottle of rum, sang the crew as the ship sailed into the fog.",
      "Ahoy! Raise the anchor, trim the sails, and load the cannons for the Spanish galleon!",
    ],
  },
  {
    name: "formal letter",
    texts: [
      "Dear Sir or Madam, I am writing to inquire about the position advertised in your journal.",
      "Please find enclosed the documents you requested in your letter of the fourteenth of March.",
      "I would be most grateful if you could confirm receipt of this correspondence at your earliest convenience.",
      "Thank you for your kind consideration. I look forward to hearing from you. Yours faithfully, J. Smith.",
      "We regret to inform you that the committee is unable to approve your application at this time.",
    ],
  },
  {
    name: "bedtime story",
    texts: [
      "Once upon a time, in a cozy little burrow, a sleepy bunny snuggled under his soft blanket.",
      "The moon smiled down on the quiet village, and one by one the little lights went out.",
      "Goodnight, stars. Goodnight, owl. Goodnight, little bear, tucked warm in your bed.",
      "The baby dragon yawned a tiny puff of smoke, curled his tail around his teddy, and closed his eyes.",
      "And so the little boat rocked gently on the silver sea, all the way to the land of dreams.",
    ],
  },
  {
    name: "angry customer",
    texts: [
      "This is the third time my order has arrived broken, and I want a full refund right now!",
      "I have been on hold for two hours. Your customer service is an absolute disgrace.",
      "Don't tell me to calm down. You charged my card twice and nobody will fix it!",
      "I want to speak to your manager immediately. This product stopped working after one day.",
      "Unacceptable! You promised delivery by Friday and I am still waiting a week later.",
    ],
  },
];
